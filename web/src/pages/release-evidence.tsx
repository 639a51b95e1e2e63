/**
 * The evidence half of a release page: stable-vs-canary charts and totals from the pushed
 * metric windows, the judges' verdicts with statistic, bound and samples per check, and alerts.
 */
import { useMemo } from 'react';
import type { AnalysisResponse, ApiError, MetricsResponse, Release, Verdict } from '../api';
import { CANARY_COLOR, STABLE_COLOR, TimeChart } from '../components/time-chart';
import { Empty, ErrorState, Loading, OutcomeBadge } from '../components/states';
import { ago, ms, num, pct, ratioPct, time } from '../format';
import { toSeries, totals } from '../metrics';
export function Evidence({ metrics, error, loading }: { metrics: MetricsResponse | undefined; error: ApiError | null; loading: boolean }) {
  const series = useMemo(() => (metrics ? toSeries(metrics) : null), [metrics]);
  const stable = metrics ? totals(metrics, 'stable') : null;
  const canary = metrics ? totals(metrics, 'canary') : null;
  const rate = useMemo(
    () =>
      series
        ? [
            { label: `stable ${stable?.version ?? ''}`, values: series.rate.stable, color: STABLE_COLOR },
            { label: `canary ${canary?.version ?? ''}`, values: series.rate.canary, color: CANARY_COLOR },
          ]
        : [],
    [series, stable?.version, canary?.version],
  );
  const errs = useMemo(
    () =>
      series
        ? [
            { label: 'stable', values: series.errorRate.stable, color: STABLE_COLOR },
            { label: 'canary', values: series.errorRate.canary, color: CANARY_COLOR },
          ]
        : [],
    [series],
  );
  const lat = useMemo(
    () =>
      series
        ? [
            { label: 'stable p50', values: series.p50.stable, color: STABLE_COLOR },
            { label: 'stable p99', values: series.p99.stable, color: STABLE_COLOR, dash: [6, 4] },
            { label: 'canary p50', values: series.p50.canary, color: CANARY_COLOR },
            { label: 'canary p99', values: series.p99.canary, color: CANARY_COLOR, dash: [6, 4] },
          ]
        : [],
    [series],
  );
  return (
    <section className="card" aria-labelledby="ev-h">
      <h2 id="ev-h">Evidence: stable vs canary</h2>
      {!series ? (
        error ? (
          <ErrorState error={error} what="metrics" />
        ) : loading ? (
          <Loading what="metrics" />
        ) : null
      ) : (
        <>
          <div className="charts">
            <TimeChart
              id="rate"
              title="Request rate"
              unit="/s"
              x={series.x}
              series={rate}
              format={(v) => (v === null ? '—' : `${num(v, 3)}/s`)}
            />
            <TimeChart id="errors" title="Error rate" unit="%" x={series.x} series={errs} format={(v) => pct(v, 2)} />
            <TimeChart id="latency" title="Latency p50 / p99 (log scale)" unit="ms" x={series.x} series={lat} format={ms} log />
          </div>
          <div className="table-wrap">
            <table className="table compare stack" data-testid="totals">
              <caption>Totals over the windows shown</caption>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Requests</th>
                  <th scope="col">Errors</th>
                  <th scope="col">Error rate</th>
                  <th scope="col">p50</th>
                  <th scope="col">p99</th>
                  <th scope="col" title="requests whose latency was measured: the sample size of the latency checks">
                    Latency samples
                  </th>
                </tr>
              </thead>
              <tbody>
                {[
                  ['stable', stable],
                  ['canary', canary],
                ].map(([role, t]) =>
                  t && typeof t !== 'string' ? (
                    <tr key={role as string}>
                      <th scope="row">
                        <span
                          className="swatch"
                          style={{ background: role === 'stable' ? STABLE_COLOR : CANARY_COLOR }}
                          aria-hidden="true"
                        />
                        {role as string} <code>{t.version}</code>
                      </th>
                      <td className="num" data-label="Requests">
                        {num(t.requests)}
                      </td>
                      <td className="num" data-label="Errors">
                        {num(t.errors)}
                      </td>
                      <td className="num" data-label="Error rate">
                        {ratioPct(t.errorRate)}
                      </td>
                      <td className="num" data-label="p50">
                        {ms(t.p50)}
                      </td>
                      <td className="num" data-label="p99">
                        {ms(t.p99)}
                      </td>
                      <td className="num" data-label="Latency samples">
                        {num(t.latencySamples)}
                        {t.latencySamples < t.requests ? <span className="muted"> (sampled)</span> : null}
                      </td>
                    </tr>
                  ) : null,
                )}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

export function CheckTable({ verdict }: { verdict: Verdict }) {
  if (verdict.checks.length === 0) return <p className="muted">No checks reported.</p>;
  return (
    <div className="table-wrap">
      <table className="table checks stack">
        <thead>
          <tr>
            <th scope="col">Check</th>
            <th scope="col">Outcome</th>
            <th scope="col">Statistic</th>
            <th scope="col">Bound</th>
            <th scope="col">Samples (stable / canary)</th>
            <th scope="col">Evidence</th>
          </tr>
        </thead>
        <tbody>
          {verdict.checks.map((c) => (
            <tr key={c.check} data-check={c.check} data-outcome={c.outcome}>
              <th scope="row">{c.check}</th>
              <td data-label="Outcome">
                <OutcomeBadge outcome={c.outcome} />
              </td>
              <td className="num" data-label="Statistic">
                {num(c.statistic)}
              </td>
              <td className="num" data-label="Bound">
                {num(c.bound)}
              </td>
              <td className="num" data-label="Samples (stable / canary)">
                {num(c.stableSamples ?? null)} / {num(c.canarySamples ?? null)}
              </td>
              <td className="detail" data-label="Evidence">
                {c.detail ?? ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Verdicts({
  analysis,
  error,
  release,
}: {
  analysis: AnalysisResponse | undefined;
  error: ApiError | null;
  release: Release;
}) {
  const latest = analysis?.verdicts[0];
  return (
    <section className="card" aria-labelledby="verdicts-h">
      <h2 id="verdicts-h">Verdicts</h2>
      {!analysis ? (
        error ? (
          <ErrorState error={error} what="analysis" />
        ) : (
          <Loading what="analysis" />
        )
      ) : !latest ? (
        <Empty>
          <p>
            No verdict yet. The {release.analysis.judge} judge looks every {release.analysis.interval} once both versions have traffic.
          </p>
        </Empty>
      ) : (
        <>
          <p data-testid="latest-verdict">
            Latest: <OutcomeBadge outcome={latest.outcome} /> from the <strong>{latest.judge}</strong> judge at step {latest.stepIndex + 1},{' '}
            {ago(latest.at)}
          </p>
          <CheckTable verdict={latest} />
          {analysis.verdicts.length > 1 && (
            <details className="history">
              <summary>Earlier verdicts ({analysis.verdicts.length - 1})</summary>
              <ul className="plain">
                {analysis.verdicts.slice(1, 50).map((v) => (
                  <li key={v.id}>
                    {time(v.at)} · step {v.stepIndex + 1} · <OutcomeBadge outcome={v.outcome} />{' '}
                    {v.checks
                      .filter((c) => c.outcome !== 'pass')
                      .map((c) => `${c.check} ${c.outcome}`)
                      .join(', ')}
                  </li>
                ))}
              </ul>
            </details>
          )}
        </>
      )}
    </section>
  );
}

export function Alerts({ analysis }: { analysis: AnalysisResponse | undefined }) {
  return (
    <section className="card" aria-labelledby="alerts-h">
      <h2 id="alerts-h">Alerts</h2>
      {!analysis ? null : analysis.alerts.length === 0 ? (
        <Empty>
          <p>No alerts.</p>
        </Empty>
      ) : (
        <ul className="plain alerts">
          {analysis.alerts.map((a) => (
            <li key={a.id} className={a.resolvedAt ? 'alert-resolved' : 'alert-open'} data-alert={a.metric}>
              <strong>{a.metric}</strong>: observed {num(a.observed)} vs threshold {num(a.threshold)}
              <div className="muted small">
                raised {time(a.triggeredAt)}
                {a.resolvedAt ? `, resolved ${time(a.resolvedAt)}` : ' · open'}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
