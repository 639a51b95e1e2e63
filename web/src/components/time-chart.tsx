/**
 * A time-series chart (uPlot): stable and canary as separate series on one time axis, sized to
 * its container. A table of the latest values sits below it for screen readers and for reading
 * exact numbers.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { clock } from '../format';

export interface ChartSeries {
  readonly label: string;
  readonly values: readonly (number | null)[];
  readonly color: string;
  readonly dash?: readonly number[];
}

const X_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400];

/** 1-2-5 ticks per decade for a log axis (uPlot's default draws all nine, too dense to read). */
function logSplits(min: number, max: number): number[] {
  const out: number[] = [];
  if (!(min > 0) || !(max > min)) return out;
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * Math.pow(10, e);
      if (v >= min && v <= max) out.push(v);
    }
  }
  return out;
}

/** Short tick labels: 1500ms reads as 1.5s, so the axis stays narrow on a phone. */
function axisLabel(v: number, unit: string): string {
  if (unit === 'ms' && v >= 1000) return `${Number((v / 1000).toPrecision(3))}s`;
  return `${Number(v.toPrecision(3))}${unit}`;
}

export const STABLE_COLOR = '#1d4ed8';
export const CANARY_COLOR = '#c2410c';

export function TimeChart(props: {
  id: string;
  title: string;
  unit: string;
  x: readonly number[];
  series: readonly ChartSeries[];
  format: (v: number | null) => string;
  /** Logarithmic y axis (latency: p50 and p99 differ by orders of magnitude). */
  log?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.series.map((s) => s.label).join('|');
  const points = props.series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(240, el.clientWidth);
    const opts: uPlot.Options = {
      width,
      height: 200,
      // The legend below the chart is ours (with the latest values); uPlot's would repeat it.
      legend: { show: false },
      // Room on the right for the last time label, which uPlot centres on the plot's edge.
      padding: [8, 28, 0, 0],
      cursor: { drag: { x: false, y: false } },
      // Ticks fall on round UTC times, labelled in UTC like every time Tern shows.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: {
        x: { time: true },
        y: props.log
          ? { distr: 3, log: 10 }
          : { range: (_u, min, max) => [Math.min(0, min ?? 0), max !== null && max > 0 ? max * 1.15 : 1] },
      },
      axes: [
        // Whole seconds at least: windows are per second, so sub-second ticks would only repeat.
        {
          stroke: '#374151',
          grid: { stroke: '#e5e7eb' },
          ticks: { stroke: '#d1d5db' },
          incrs: X_INCRS,
          space: 64,
          values: (_u, splits) => splits.map((v) => (v === null ? '' : clock(v * 1000))),
        },
        {
          stroke: '#374151',
          grid: { stroke: '#e5e7eb' },
          ticks: { stroke: '#d1d5db' },
          size: 60,
          ...(props.log ? { splits: (_u: uPlot, _i: number, min: number, max: number) => logSplits(min, max) } : {}),
          values: (_u, splits) => splits.map((v) => (v === null || !Number.isFinite(v) ? '' : axisLabel(v, props.unit))),
        },
      ],
      series: [
        {},
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          ...(s.dash ? { dash: [...s.dash] } : {}),
          spanGaps: false,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => props.format(v),
        })),
      ],
    };
    const u = new uPlot(opts, [[...props.x], ...props.series.map((s) => [...s.values])] as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = Math.max(240, el.clientWidth);
      if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height: 200 });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // The plot is rebuilt only when the set of series changes; data updates go through setData.
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([[...props.x], ...props.series.map((s) => [...s.values])] as uPlot.AlignedData);
  }, [props.x, props.series]);

  const latest = props.series.map((s) => {
    for (let i = s.values.length - 1; i >= 0; i--) if (s.values[i] !== null) return s.values[i]!;
    return null;
  });

  return (
    <figure className="chart" data-chart={props.id} data-points={points}>
      <figcaption>{props.title}</figcaption>
      <div className="chart-body">
        <div ref={box} className="chart-canvas" role="img" aria-label={`${props.title}: chart of the last ${props.x.length} seconds`} />
        {points === 0 && <p className="chart-empty">No metric windows yet: gateways report once a second while traffic flows.</p>}
      </div>
      <ul className="chart-legend" aria-label={`${props.title}, latest values`}>
        {props.series.map((s, i) => (
          <li key={s.label}>
            <svg width="22" height="10" aria-hidden="true" focusable="false">
              <line x1="1" y1="5" x2="21" y2="5" stroke={s.color} strokeWidth="3" strokeDasharray={s.dash ? s.dash.join(' ') : undefined} />
            </svg>
            {s.label} <strong>{props.format(latest[i] ?? null)}</strong>
          </li>
        ))}
      </ul>
    </figure>
  );
}
