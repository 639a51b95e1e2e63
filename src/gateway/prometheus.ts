/**
 * The gateway's Prometheus series that are built at scrape time rather than counted through
 * prom-client on the request path (per-request `inc`/`observe` cost about 8% of the gateway's
 * throughput, bench/gateway): requests by status class and the request-duration histogram, from
 * the plain counters metrics.ts keeps per series; endpoint availability and ejections, read from
 * the endpoints' health. Series carry `role="stable|canary"` and the service, never the version
 * string (a git sha would open new series with every release); `tern_gateway_version_info`
 * maps each (service, role) to the version the routing table names for it now.
 */
import { Counter, Gauge, type Metric, type MetricValue, type Registry } from 'prom-client';

/** A version's part in its service: the canary of an active release, or stable. */
export type Role = 'stable' | 'canary';

/** What the scrape reads from one (service, version, release) series. */
export interface ScrapedSeries {
  readonly service: string;
  readonly version: string;
  /** Fixed when the series is created: a release's canary version keeps its role in that release. */
  readonly role: Role;
  /** Requests by status class (1xx..5xx). */
  readonly classCounts: number[];
  /** Duration histogram: count per DURATION_BUCKETS bound (not cumulative), +Inf last. */
  readonly durationCounts: number[];
  durationSum: number;
}

/** The series a scrape reads: live ones and the folded counts of ended releases. */
export interface SeriesSource {
  values(): Iterable<ScrapedSeries>;
}

/** What the scrape reads from one endpoint. */
export interface EndpointView {
  readonly url: string;
  readonly health: { readonly healthy: boolean; readonly ejectedUntil: number; readonly ejections: number };
}

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** Upper bounds (seconds) of the request-duration histogram. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DURATION_NAME = 'tern_gateway_request_duration_seconds';

/** Registers `tern_gateway_requests_total` and the duration histogram over `series`. */
export function registerRequestMetrics(registry: Registry, series: SeriesSource): void {
  new Counter({
    name: 'tern_gateway_requests_total',
    help: 'Proxied requests by status class',
    labelNames: ['service', 'role', 'class'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of series.values()) {
        s.classCounts.forEach((n, i) => n > 0 && this.inc({ service: s.service, role: s.role, class: CLASSES[i]! }, n));
      }
    },
  });
  registry.registerMetric(durationMetric(series));
}

/** A (service, role, version) the routing table names now. */
export interface VersionView {
  readonly service: string;
  readonly role: Role;
  readonly version: string;
}

/** Registers `tern_gateway_version_info{service,role,version} 1`, read from `source` at scrape time. */
export function registerVersionInfo(registry: Registry, source: () => Iterable<VersionView>): void {
  new Gauge({
    name: 'tern_gateway_version_info',
    help: 'The version each service routes to per role (1), from the routing table in use',
    labelNames: ['service', 'role', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of source()) this.labels(v.service, v.role, v.version).set(1);
    },
  });
}

/** Registers each endpoint's availability (1/0) and ejection count. */
export function registerEndpointGauges(registry: Registry, clock: () => number, source: () => Iterable<EndpointView>): void {
  new Gauge({
    name: 'tern_gateway_endpoint_available',
    help: 'Whether the endpoint takes traffic (actively healthy and not ejected)',
    labelNames: ['endpoint'],
    registers: [registry],
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
    registers: [registry],
    collect() {
      this.reset();
      for (const e of source()) this.labels(e.url).set(e.health.ejections);
    },
  });
}

/**
 * `tern_gateway_request_duration_seconds` as a Prometheus histogram built at scrape time from
 * the series' bucket counts (summed per service and role: a role is served by one version per
 * release, and by several over time).
 */
function durationMetric(series: SeriesSource): Metric {
  const get = () => {
    const byLabels = new Map<string, { service: string; role: Role; counts: number[]; sum: number }>();
    for (const s of series.values()) {
      const key = `${s.service}\u0000${s.role}`;
      let agg = byLabels.get(key);
      if (!agg)
        byLabels.set(
          key,
          (agg = { service: s.service, role: s.role, counts: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0 }),
        );
      s.durationCounts.forEach((n, i) => (agg.counts[i]! += n));
      agg.sum += s.durationSum;
    }
    const values: Array<MetricValue<string> & { metricName: string }> = [];
    for (const { service, role, counts, sum } of byLabels.values()) {
      let cumulative = 0;
      counts.forEach((n, i) => {
        cumulative += n;
        values.push({
          metricName: `${DURATION_NAME}_bucket`,
          labels: { service, role, le: i < DURATION_BUCKETS.length ? DURATION_BUCKETS[i]! : '+Inf' },
          value: cumulative,
        });
      });
      values.push({ metricName: `${DURATION_NAME}_sum`, labels: { service, role }, value: sum });
      values.push({ metricName: `${DURATION_NAME}_count`, labels: { service, role }, value: cumulative });
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
