/**
 * A release's analysis settings in plain words, e.g. "latency: fails when 20% and 5 ms slower",
 * "errors: above 1.1× stable and +0.05 pp; ceiling 5%", "warm-up 10 s". `tern release status`
 * and the dashboard's release page both print these, so they read the same everywhere.
 * It reads the API's JSON (`GET /api/v1/releases/:id` → `analysis`) and imports nothing, so the
 * dashboard can bundle it; fields an older server leaves out are skipped.
 */

/** The `analysis` object of a release as the API answers it (every field optional here). */
export interface AnalysisSettings {
  readonly judge?: string;
  readonly onFailure?: string;
  readonly intervalMs?: number;
  readonly threshold?: number;
  readonly minRequests?: number;
  readonly warmupMs?: number;
  readonly errorRate?: { readonly tolerance?: number; readonly minDifference?: number; readonly max?: number | null };
  readonly latency?: { readonly tolerance?: number; readonly minDifferenceMs?: number; readonly p99MaxMs?: number | null };
  readonly feedback?: { readonly tolerance?: number; readonly minScore?: number | null } | null;
  readonly checks?: readonly CustomCheckSettings[];
}

/** A custom PromQL check as the API answers it (docs/metrics.md "Custom checks"). */
export interface CustomCheckSettings {
  readonly name?: string;
  readonly kind?: string;
  readonly direction?: string;
  readonly tolerance?: number | null;
  readonly minDifference?: number;
  readonly min?: number | null;
  readonly max?: number | null;
  readonly evaluations?: number;
}

/** A number without float noise: 0.1 + 0.2 → "0.3", 1.5 → "1.5". */
function n(value: number): string {
  return String(Number(value.toPrecision(6)));
}

/** A fraction as a percent: 0.2 → "20%". */
function percent(fraction: number): string {
  return `${n(fraction * 100)}%`;
}

/** Milliseconds the way people say them: "5 ms", "15 s", "2 min", "1 min 30 s". */
export function spokenDuration(ms: number): string {
  if (ms < 1000) return `${n(ms)} ms`;
  if (ms < 60_000) return `${n(ms / 1000)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms - minutes * 60_000) / 1000);
  return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`;
}

/** "latency: fails when 20% and 5 ms slower; p99 ceiling 500 ms" (null when the API sent no latency settings). */
export function latencyWords(l: AnalysisSettings['latency']): string | null {
  if (!l) return null;
  const parts = [l.tolerance ? percent(l.tolerance) : null, l.minDifferenceMs ? `${n(l.minDifferenceMs)} ms` : null].filter(Boolean);
  const when = parts.length ? `fails when ${parts.join(' and ')} slower` : 'fails when slower at all';
  const ceiling = typeof l.p99MaxMs === 'number' ? `p99 ceiling ${spokenDuration(l.p99MaxMs)}` : 'no p99 ceiling';
  return `latency: ${when}; ${ceiling}`;
}

/** "errors: above 1.1× stable and +0.05 pp; ceiling 5%" (null when the API sent no error-rate settings). */
export function errorWords(e: AnalysisSettings['errorRate']): string | null {
  if (!e) return null;
  const ratio = e.tolerance ? `${n(1 + e.tolerance)}× stable` : 'stable';
  const above = e.minDifference ? `above ${ratio} and +${n(e.minDifference * 100)} pp` : `above ${ratio}`;
  const ceiling = typeof e.max === 'number' ? `ceiling ${percent(e.max)}` : 'no ceiling';
  return `errors: ${above}; ${ceiling}`;
}

/** "feedback: fails when 0.5 points below stable or below 3.5", or "feedback: not checked". */
export function feedbackWords(f: AnalysisSettings['feedback']): string {
  if (!f) return 'feedback: not checked';
  const below = `fails when ${n(f.tolerance ?? 0)} points below stable`;
  return `feedback: ${below}${typeof f.minScore === 'number' ? ` or below ${n(f.minScore)}` : ''}`;
}

/** "warm-up 15 s" or "no warm-up". */
export function warmupWords(warmupMs: number | undefined): string | null {
  if (warmupMs === undefined) return null;
  return warmupMs > 0 ? `warm-up ${spokenDuration(warmupMs)}` : 'no warm-up';
}

/** "sequential judge, looks every 1 s, 100 requests per version; on failure: roll back". */
export function judgeWords(a: AnalysisSettings): string {
  const parts = [`${a.judge ?? 'default'} judge`];
  if (a.intervalMs !== undefined)
    parts.push(a.judge === 'sequential' ? `looks every ${spokenDuration(a.intervalMs)}` : `${spokenDuration(a.intervalMs)} intervals`);
  if (a.judge === 'threshold' && a.threshold !== undefined) parts.push(`fails after ${a.threshold} failed intervals`);
  if (a.minRequests !== undefined) parts.push(`${a.minRequests} requests per version`);
  const onFailure = a.onFailure === 'rollback' ? 'roll back' : a.onFailure;
  return `${parts.join(', ')}${onFailure ? `; on failure: ${onFailure}` : ''}`;
}

/** A custom check in words, e.g. "checkout-failures (ratio from Prometheus): above 1.1× stable and +0.1 pp; ceiling 5%". */
export function customCheckWords(c: CustomCheckSettings): string {
  const lower = c.direction !== 'higher-is-better';
  if (c.kind === 'ratio') {
    const tol = c.tolerance ?? 0;
    const rel = lower ? `above ${n(1 + tol)}× stable` : `below stable / ${n(1 + tol)}`;
    const bound = lower ? (c.max == null ? '' : `; ceiling ${percent(c.max)}`) : c.min == null ? '' : `; floor ${percent(c.min)}`;
    return `${c.name} (ratio from Prometheus): fails ${rel} and ${lower ? '+' : '−'}${n((c.minDifference ?? 0) * 100)} pp${bound}`;
  }
  const parts = [
    c.tolerance == null ? null : `${percent(c.tolerance)} ${lower ? 'above' : 'below'} stable`,
    c.min == null ? null : `below ${n(c.min)}`,
    c.max == null ? null : `above ${n(c.max)}`,
  ].filter(Boolean);
  return `${c.name} (gauge from Prometheus, threshold): fails when ${parts.join(' or ')} at ${c.evaluations ?? 3} looks in a row`;
}

/** The checks in plain words, one line each: latency, errors, warm-up, feedback, then the custom checks. */
export function describeChecks(a: AnalysisSettings): string[] {
  return [
    latencyWords(a.latency),
    errorWords(a.errorRate),
    warmupWords(a.warmupMs),
    feedbackWords(a.feedback),
    ...(a.checks ?? []).map(customCheckWords),
  ].filter((line): line is string => line !== null);
}
