/**
 * A MetricSource reading a Prometheus query API (control-plane side): per-version
 * request and error counts and latency histograms of a service that some other proxy carries
 * and exports to Prometheus. Every `pollMs` it reads the windows that closed at least `lagMs`
 * ago (time for the scrape after a window's end to land) with one range query per metric and
 * version, and `drainWindows` hands them out.
 *
 * Counts are exact differences of the cumulative counters between window boundaries (the last
 * sample at or before each boundary, as an instant query sees it), not `increase()`, which
 * extrapolates to the range's edges and gives fractions: so consecutive windows add up to the
 * counter's own growth. A counter that went down was reset; the window counts its new value.
 * A version whose counter has no sample yet at a window's start counts from 0 (a new canary's
 * series appears with its first request).
 *
 * Latency comes from a Prometheus histogram's cumulative `le` buckets: each bucket's growth is
 * placed at its upper bound, so quantiles read as that bound — the resolution is the exporter's
 * buckets, far coarser than the gateway's 1% histogram, and never better than the data; the
 * `+Inf` bucket's requests sit at the largest finite bound (at least that slow).
 *
 * Failures hold, they never invent evidence: a query that fails (Prometheus down, bad PromQL)
 * is logged and retried at the next poll from the same window; a window with no request
 * sample is left out, and so is one whose counter did not grow (no traffic: no window, never a
 * zero-filled one; the source still counts as answering). Re-reading a window gives the same
 * key (source, release, version, start), which the store replaces, so a restart that reads a
 * window again counts it once.
 */
import type { Logger } from 'pino';
import { ValidationError } from '../../core/errors.js';
import { record, type LatencyHistogram } from '../../core/latency-histogram.js';
import type { MetricWindow } from '../../core/types.js';
import { queryRange } from './prometheus-query.js';
import type { MetricSource } from './source.js';

/** PromQL of one version's cumulative series; `$version` becomes the version label (quoted-string safe). */
export interface PrometheusQueries {
  /** A single cumulative request counter, e.g. `sum(http_requests_total{service="shop",version="$version"})`. */
  readonly requests: string;
  /** A single cumulative error counter (5xx and failed connects); no series reads as 0 errors. */
  readonly errors: string;
  /** Cumulative histogram buckets by `le`, e.g. `sum by (le) (http_request_duration_seconds_bucket{version="$version"})`. */
  readonly latencyBuckets?: string;
  /** Unit of the `le` bounds: seconds (Prometheus convention, default) or milliseconds. */
  readonly latencyUnit?: 's' | 'ms';
}

/** A release's version whose evidence is read; `role` fills `$role` (exporters labelled by role, not version). */
export interface PrometheusTarget {
  readonly releaseId: string;
  readonly version: string;
  readonly role?: 'canary' | 'stable';
}

/** How reading one target goes: what the controller holds a step on (no data is never a failure). */
export interface TargetHealth {
  /** The last poll's failure (Prometheus down, bad PromQL, timeout); null once a poll succeeds. */
  readonly error: string | null;
  /** The requests query that answered with no series at the last poll; null when it had one. */
  readonly empty: string | null;
  /** End of the newest window read with a request sample; null before the first. */
  readonly lastDataEnd: number | null;
  /** When the source started reading this target. */
  readonly since: number;
}

export interface PrometheusSourceOptions {
  /** Source name: part of every window's key. */
  readonly name: string;
  /** Prometheus base URL, e.g. `http://prometheus:9090`. */
  readonly url: string;
  readonly queries: PrometheusQueries;
  /** The versions to read now (the active releases' canary and stable). */
  readonly targets: () => readonly PrometheusTarget[];
  /** Window length, ms (default 10,000; a multiple of 1000). */
  readonly windowMs?: number;
  /** How long after a window's end it is read, ms (default 15,000: one default scrape interval). */
  readonly lagMs?: number;
  /** How often Prometheus is polled, ms (default windowMs). */
  readonly pollMs?: number;
  /** Per-query timeout, ms (default 5000). */
  readonly timeoutMs?: number;
  /** Most windows read per version and poll (default 60): a long outage is caught up over several polls. */
  readonly maxWindowsPerPoll?: number;
  /** Where reading starts (epoch ms, default now): a controller taking over a release reads what it missed. */
  readonly from?: number;
  readonly clock?: () => number;
  readonly logger?: Logger;
}

/** A Prometheus MetricSource; `poll()` reads now (tests, or a caller with its own schedule). */
export interface PrometheusSource extends MetricSource {
  poll(): Promise<void>;
  /** How reading `target` goes; undefined before it was first polled. */
  health(target: PrometheusTarget): TargetHealth | undefined;
  /**
   * The finite `le` bounds (ms, ascending) of the latency histogram as last read: the resolution
   * the latency judgment has. Empty when there is no latency query or no bucket was read yet.
   */
  latencyBounds(): readonly number[];
  readonly windowMs: number;
  readonly queries: PrometheusQueries;
}

/** One series of a range query: its labels and its values by timestamp (ms). */
interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly at: ReadonlyMap<number, number>;
}

function positive(field: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0) throw new ValidationError(field, `${v}; expected a positive integer of milliseconds`);
  return v;
}

/** `$version` replaced by the version and `$role` by the role, escaped for a PromQL double-quoted string. */
export function forVersion(query: string, version: string, role?: 'canary' | 'stable'): string {
  const q = query.replaceAll(
    '$version',
    version.replace(/[\\"]/g, (c) => `\\${c}`),
  );
  return role === undefined ? q : q.replaceAll('$role', role);
}

/** Growth of a counter from `start` to `end`: a value that went down was reset, so it grew by its new value. */
function growth(start: number | undefined, end: number): number {
  const s = start ?? 0;
  return Math.round(end >= s ? end - s : end);
}

/** The latency histogram of the buckets' growth between two boundaries (counts at each bucket's upper bound). */
function latencyBetween(buckets: readonly Series[], from: number, to: number, unitMs: number): LatencyHistogram {
  const rows = buckets
    .map((b) => ({ le: Number(b.labels.le === '+Inf' ? Infinity : b.labels.le), n: growth(b.at.get(from), b.at.get(to) ?? 0) }))
    .filter((r) => !Number.isNaN(r.le))
    .sort((a, b) => a.le - b.le);
  const finite = rows.filter((r) => Number.isFinite(r.le));
  const top = finite.at(-1)?.le;
  const h: LatencyHistogram = {};
  let below = 0;
  for (const r of rows) {
    const n = r.n - below; // cumulative: this bucket's own requests
    below = Math.max(below, r.n);
    const ms = (Number.isFinite(r.le) ? r.le : (top ?? 0)) * unitMs;
    if (n > 0 && ms > 0) record(h, ms, n);
  }
  return h;
}

/** Creates the source and starts polling. @throws ValidationError for an option out of range. */
export function prometheusMetricSource(options: PrometheusSourceOptions): PrometheusSource {
  const { name, queries, logger } = options;
  if (name.length === 0 || name.length > 128) throw new ValidationError('name', `"${name}"; expected 1 to 128 characters`);
  const base = new URL(options.url);
  const windowMs = positive('windowMs', options.windowMs, 10_000);
  if (windowMs % 1000 !== 0) throw new ValidationError('windowMs', `${windowMs}; expected whole seconds`);
  const lagMs = options.lagMs ?? 15_000;
  const pollMs = positive('pollMs', options.pollMs, windowMs);
  const timeoutMs = positive('timeoutMs', options.timeoutMs, 5000);
  const maxWindows = positive('maxWindowsPerPoll', options.maxWindowsPerPoll, 60);
  const clock = options.clock ?? Date.now;
  const unitMs = queries.latencyUnit === 'ms' ? 1 : 1000;
  const started = options.from ?? clock();
  /** Per target, the start of the next window to read. */
  const next = new Map<string, number>();
  let ready: MetricWindow[] = [];
  const health = new Map<string, TargetHealth>();
  let bounds: readonly number[] = [];
  const keyOf = (t: PrometheusTarget): string => `${t.releaseId}\u0000${t.version}`;
  let polling: Promise<void> | null = null;
  let closed = false;

  const rangeQuery = async (query: string, from: number, to: number): Promise<Series[]> =>
    (await queryRange(base.href, query, from, to, windowMs, timeoutMs)).map((r) => ({ labels: r.labels, at: r.values }));

  const readTarget = async (
    t: PrometheusTarget,
    from: number,
    to: number,
  ): Promise<{ windows: MetricWindow[]; empty: string | null; sampledTo: number | null }> => {
    const requestsQuery = forVersion(queries.requests, t.version, t.role);
    const [requests, errors, buckets] = await Promise.all([
      rangeQuery(requestsQuery, from, to),
      rangeQuery(forVersion(queries.errors, t.version, t.role), from, to),
      queries.latencyBuckets === undefined
        ? Promise.resolve([])
        : rangeQuery(forVersion(queries.latencyBuckets, t.version, t.role), from, to),
    ]);
    const les = buckets.map((b) => Number(b.labels.le)).filter((le) => Number.isFinite(le));
    if (les.length > 0) bounds = [...new Set(les.map((le) => le * unitMs))].sort((a, b) => a - b);
    const windows: MetricWindow[] = [];
    let sampledTo: number | null = null;
    for (let start = from; start < to; start += windowMs) {
      const end = requests[0]?.at.get(start + windowMs);
      if (end === undefined) continue; // no sample: no evidence for this window
      sampledTo = start + windowMs; // Prometheus has data up to here, traffic or not
      const n = growth(requests[0]?.at.get(start), end);
      if (n === 0) continue; // no traffic: no window (a zero-filled one would look like evidence)
      const errorEnd = errors[0]?.at.get(start + windowMs);
      const e = errorEnd === undefined ? 0 : Math.min(n, growth(errors[0]?.at.get(start), errorEnd));
      windows.push({
        releaseId: t.releaseId,
        version: t.version,
        windowStart: start,
        windowMs,
        requests: n,
        errors: e,
        latency: latencyBetween(buckets, start, start + windowMs, unitMs),
        feedbackSum: 0,
        feedbackCount: 0,
      });
    }
    return { windows, empty: requests.length === 0 ? requestsQuery : null, sampledTo };
  };

  const pollOnce = async (): Promise<void> => {
    const closedBy = Math.floor((clock() - lagMs) / windowMs) * windowMs; // the end of the newest readable window
    for (const t of options.targets()) {
      const key = keyOf(t);
      const from = next.get(key) ?? Math.floor(started / windowMs) * windowMs;
      const to = Math.min(closedBy, from + maxWindows * windowMs);
      const was = health.get(key) ?? { error: null, empty: null, lastDataEnd: null, since: clock() };
      if (!health.has(key)) health.set(key, was);
      if (to <= from) continue;
      try {
        const { windows, empty, sampledTo } = await readTarget(t, from, to);
        if (!closed) ready.push(...windows);
        next.set(key, to);
        health.set(key, { ...was, error: null, empty, lastDataEnd: sampledTo ?? was.lastDataEnd });
      } catch (err) {
        // queryRange's errors already say where and why (unreachable, timeout, refused query).
        const message = err instanceof Error ? err.message : String(err);
        health.set(key, { ...was, error: message });
        logger?.warn({ err, source: name, releaseId: t.releaseId, version: t.version }, 'Prometheus query failed; will retry');
      }
    }
  };

  const poll = (): Promise<void> => {
    polling ??= pollOnce().finally(() => (polling = null));
    return polling;
  };
  const timer = setInterval(() => void poll(), pollMs);
  timer.unref();

  return {
    name,
    windowMs,
    queries,
    poll,
    health: (t) => health.get(keyOf(t)),
    latencyBounds: () => bounds,
    drainWindows: () => {
      const out = ready;
      ready = [];
      return out;
    },
    close: async () => {
      closed = true;
      clearInterval(timer);
      await polling;
      ready = [];
    },
  };
}
