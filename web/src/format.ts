/** Formatting for people: percents, durations, times, numbers. */
// One time format with the CLI: the same pure function, bundled (it has no imports).
import { formatUtc, formatUtcClock } from '../../src/core/time-format.js';

export function pct(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${Number(value.toFixed(digits))}%`;
}

/** A 0..1 ratio as a percent. */
export function ratioPct(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined ? '—' : pct(value * 100, digits);
}

export function num(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return '—';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : value < 0 ? '−∞' : 'NaN';
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return Number(value.toPrecision(digits)).toString();
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value >= 1000 ? `${Number((value / 1000).toFixed(2))} s` : `${Number(value.toPrecision(3))} ms`;
}

/** A duration in ms as "1h 2m", "3m 05s", "42s". */
export function duration(msValue: number): string {
  const total = Math.max(0, Math.round(msValue / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** A point in time as `2025-01-31 14:05:09Z`: UTC, the same text `tern` prints (src/core/time-format.ts). */
export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  return formatUtc(iso) ?? iso;
}

/** The time of day in UTC, `14:05:09Z` (chart ticks). */
export function clock(value: string | number): string {
  return formatUtcClock(value) ?? '';
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const d = now - t;
  return d < 0 ? `in ${duration(-d)}` : `${duration(d)} ago`;
}

export function statusLabel(status: string): string {
  return status.replace(/_/g, ' ');
}

export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
