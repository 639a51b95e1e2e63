/**
 * Gateway metrics per (service, version): requests, errors (5xx, including the gateway's own
 * 502/503/504 for upstream failures), 4xx, and latency (request start to response end).
 *
 * Two outputs:
 * - Prometheus text (prom-client, on a registry of its own so several gateways can share a
 *   process), served by the admin listener (admin.ts) at `/metrics`.
 * - Closed one-second windows shaped like core's MetricWindow, with the latency histogram of
 *   core/latency-histogram.ts (mergeable, ≤ 1% relative error), drained once a second by the
 *   control-plane push (sync.ts). Only traffic of services with a release in progress has a
 *   releaseId and thus windows: the analysis compares canary and stable within one release.
 *
 * Canary fallbacks (a canary user served by stable because no canary endpoint was available)
 * are counted per (service, release) and drained with the windows as events.
 */
import { Counter, Gauge, Registry, type Metric, type MetricValue } from 'prom-client';
import { bucketOf, type LatencyHistogram } from '../core/latency-histogram.js';
import type { MetricWindow } from '../core/types.js';

const WINDOW_MS = 1_000;

interface Window {
  start: number;
  requests: number;
  errors: number;
  clientErrors: number;
  /** Latency bucket (core/latency-histogram.ts) → count; a Map keyed by number, not a string-keyed object, on the request path. */
  latency: Map<number, number>;
}

interface Series {
  readonly service: string;
  readonly version: string;
  readonly releaseId: string | null;
  window: Window;
  readonly totals: { requests: number; errors: number; clientErrors: number };
  /** Requests by status class (1xx..5xx). */
  readonly classCounts: number[];
  /** Duration histogram: count per DURATION_BUCKETS bound (not cumulative), +Inf last. */
  readonly durationCounts: number[];
  durationSum: number;
}

/** A canary-unavailable event reported to the control plane. */
export interface FallbackEvent {
  readonly type: 'canary_unavailable';
  readonly service: string;
  readonly releaseId: string;
  readonly windowStart: number;
  readonly count: number;
}

/** Totals per series, for tests and the admin listener. */
export interface SeriesTotals {
  readonly service: string;
  readonly version: string;
  readonly releaseId: string | null;
  readonly requests: number;
  readonly errors: number;
  readonly clientErrors: number;
}

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DURATION_NAME = 'tern_gateway_request_duration_seconds';

function emptyWindow(start: number): Window {
  return { start, requests: 0, errors: 0, clientErrors: 0, latency: new Map() };
}

/** Per-gateway metrics; `clock` is injectable for tests. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #clock: () => number;
  /** Every series, and the same series by service → version → releaseId ('' for none) for the request path. */
  readonly #series = new Set<Series>();
  readonly #index = new Map<string, Map<string, Map<string, Series>>>();
  readonly #closed: MetricWindow[] = [];
  readonly #fallbacks = new Map<string, FallbackEvent>();
  readonly #upstreamErrors: Counter<'service' | 'version' | 'kind'>;
  readonly #fallbackCounter: Counter<'service'>;
  readonly #unmatched: Counter;
  readonly #aborted: Counter<'service' | 'version'>;
  readonly tableVersion: Gauge;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
    const registers = [this.registry];
    // Requests and durations are counted in plain arrays per series on the request path and
    // turned into Prometheus series only at scrape time: prom-client's per-request inc/observe
    // cost about 8% of the gateway's throughput (bench/gateway).
    const series = this.#series;
    new Counter({
      name: 'tern_gateway_requests_total',
      help: 'Proxied requests by status class',
      labelNames: ['service', 'version', 'class'],
      registers,
      collect() {
        this.reset();
        for (const s of series.values()) {
          s.classCounts.forEach((n, i) => n > 0 && this.inc({ service: s.service, version: s.version, class: CLASSES[i]! }, n));
        }
      },
    });
    this.registry.registerMetric(durationMetric(series));
    this.#upstreamErrors = new Counter({
      name: 'tern_gateway_upstream_errors_total',
      help: 'Upstream failures (connect, reset, timeout)',
      labelNames: ['service', 'version', 'kind'],
      registers,
    });
    this.#fallbackCounter = new Counter({
      name: 'tern_gateway_canary_fallback_total',
      help: 'Canary users served by stable because no canary endpoint was available',
      labelNames: ['service'],
      registers,
    });
    this.#unmatched = new Counter({ name: 'tern_gateway_unmatched_requests_total', help: 'Requests no service matched (404)', registers });
    this.#aborted = new Counter({
      name: 'tern_gateway_client_aborts_total',
      help: 'Requests the client abandoned before the response ended',
      labelNames: ['service', 'version'],
      registers,
    });
    this.tableVersion = new Gauge({ name: 'tern_gateway_routing_table_version', help: 'Version of the routing table in use', registers });
  }

  /** Exposes each endpoint's availability (1/0) and ejection count, read at scrape time. */
  trackEndpoints(
    source: () => Iterable<{
      readonly url: string;
      readonly health: { readonly healthy: boolean; readonly ejectedUntil: number; readonly ejections: number };
    }>,
  ): void {
    const registers = [this.registry];
    const clock = this.#clock;
    new Gauge({
      name: 'tern_gateway_endpoint_available',
      help: 'Whether the endpoint takes traffic (actively healthy and not ejected)',
      labelNames: ['endpoint'],
      registers,
      collect() {
        this.reset();
        const now = clock();
        for (const e of source()) this.labels(e.url).set(e.health.healthy && now >= e.health.ejectedUntil ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tern_gateway_endpoint_ejections',
      help: 'Passive ejections of the endpoint since its ejection count was last reset',
      labelNames: ['endpoint'],
      registers,
      collect() {
        this.reset();
        for (const e of source()) this.labels(e.url).set(e.health.ejections);
      },
    });
  }

  /** Records one finished request. `status` is what the client got (the gateway's own 5xx included). */
  observe(service: string, version: string, releaseId: string | null, status: number, ms: number): void {
    const s = this.#seriesFor(service, version, releaseId);
    const w = this.#windowOf(s);
    w.requests++;
    s.totals.requests++;
    if (status >= 500) {
      w.errors++;
      s.totals.errors++;
    } else if (status >= 400) {
      w.clientErrors++;
      s.totals.clientErrors++;
    }
    const bucket = bucketOf(ms);
    w.latency.set(bucket, (w.latency.get(bucket) ?? 0) + 1);
    s.classCounts[Math.min(Math.max(Math.floor(status / 100), 1), 5) - 1]!++;
    const seconds = ms / 1000;
    s.durationSum += seconds;
    let le = 0;
    while (le < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[le]!) le++;
    s.durationCounts[le]!++;
  }

  upstreamError(service: string, version: string, kind: 'connect' | 'reset' | 'timeout' | 'other'): void {
    this.#upstreamErrors.labels(service, version, kind).inc();
  }

  clientAborted(service: string, version: string): void {
    this.#aborted.labels(service, version).inc();
  }

  unmatched(): void {
    this.#unmatched.inc();
  }

  /** Counts a canary user served by stable. */
  canaryFallback(service: string, releaseId: string): void {
    this.#fallbackCounter.labels(service).inc();
    const windowStart = this.#second();
    const key = `${service}\u0000${releaseId}\u0000${windowStart}`;
    const prev = this.#fallbacks.get(key);
    this.#fallbacks.set(key, { type: 'canary_unavailable', service, releaseId, windowStart, count: (prev?.count ?? 0) + 1 });
  }

  /** Removes and returns every window that closed before the current second, oldest first. */
  drainWindows(): MetricWindow[] {
    const now = this.#second();
    for (const s of this.#series.values()) {
      if (s.window.start < now && s.window.requests > 0) this.#close(s, now);
    }
    return this.#closed.splice(0, this.#closed.length).sort((a, b) => a.windowStart - b.windowStart);
  }

  /** Removes and returns the canary-fallback events counted so far. */
  drainFallbacks(): FallbackEvent[] {
    const events = [...this.#fallbacks.values()];
    this.#fallbacks.clear();
    return events;
  }

  totals(): SeriesTotals[] {
    return [...this.#series.values()].map((s) => ({ service: s.service, version: s.version, releaseId: s.releaseId, ...s.totals }));
  }

  /** Prometheus text exposition. */
  prometheus(): Promise<string> {
    return this.registry.metrics();
  }

  #second(): number {
    const now = this.#clock();
    return now - (now % WINDOW_MS);
  }

  #windowOf(s: Series): Window {
    const now = this.#second();
    if (s.window.start !== now) this.#close(s, now);
    return s.window;
  }

  #close(s: Series, nextStart: number): void {
    const w = s.window;
    if (w.requests > 0 && s.releaseId !== null) {
      const latency: LatencyHistogram = {};
      for (const [bucket, count] of w.latency) latency[String(bucket)] = count;
      this.#closed.push({
        releaseId: s.releaseId,
        version: s.version,
        windowStart: w.start,
        windowMs: WINDOW_MS,
        requests: w.requests,
        errors: w.errors,
        latency,
        feedbackSum: 0,
        feedbackCount: 0,
      });
    }
    s.window = emptyWindow(nextStart);
  }

  /**
   * Nested maps rather than one map keyed by a joined string: the route table's strings keep
   * their hash, while a string built per request must be flattened and hashed every time.
   */
  #seriesFor(service: string, version: string, releaseId: string | null): Series {
    let byVersion = this.#index.get(service);
    if (byVersion === undefined) this.#index.set(service, (byVersion = new Map<string, Map<string, Series>>()));
    let byRelease = byVersion.get(version);
    if (byRelease === undefined) byVersion.set(version, (byRelease = new Map<string, Series>()));
    let s = byRelease.get(releaseId ?? '');
    if (s === undefined) {
      s = {
        service,
        version,
        releaseId,
        window: emptyWindow(this.#second()),
        totals: { requests: 0, errors: 0, clientErrors: 0 },
        classCounts: CLASSES.map(() => 0),
        durationCounts: new Array<number>(DURATION_BUCKETS.length + 1).fill(0),
        durationSum: 0,
      };
      this.#series.add(s);
      byRelease.set(releaseId ?? '', s);
    }
    return s;
  }
}

/**
 * `tern_gateway_request_duration_seconds` as a Prometheus histogram built at scrape time from
 * the series' bucket counts (summed per service and version: a version may serve under
 * several releases).
 */
function durationMetric(series: ReadonlySet<Series>): Metric {
  const get = () => {
    const byLabels = new Map<string, { service: string; version: string; counts: number[]; sum: number }>();
    for (const s of series.values()) {
      const key = `${s.service}\u0000${s.version}`;
      let agg = byLabels.get(key);
      if (!agg)
        byLabels.set(
          key,
          (agg = { service: s.service, version: s.version, counts: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0 }),
        );
      s.durationCounts.forEach((n, i) => (agg.counts[i]! += n));
      agg.sum += s.durationSum;
    }
    const values: Array<MetricValue<string> & { metricName: string }> = [];
    for (const { service, version, counts, sum } of byLabels.values()) {
      let cumulative = 0;
      counts.forEach((n, i) => {
        cumulative += n;
        values.push({
          metricName: `${DURATION_NAME}_bucket`,
          labels: { service, version, le: i < DURATION_BUCKETS.length ? DURATION_BUCKETS[i]! : '+Inf' },
          value: cumulative,
        });
      });
      values.push({ metricName: `${DURATION_NAME}_sum`, labels: { service, version }, value: sum });
      values.push({ metricName: `${DURATION_NAME}_count`, labels: { service, version }, value: cumulative });
    }
    return {
      name: DURATION_NAME,
      help: 'Request duration, from request start to response end',
      type: 'histogram',
      values,
      aggregator: 'sum',
    };
  };
  // prom-client's registry only calls get() (and reads `name`) on a registered metric.
  return { name: DURATION_NAME, get: () => Promise.resolve(get()), reset: () => undefined } as unknown as Metric;
}
