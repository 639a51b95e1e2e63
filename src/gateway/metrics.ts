/**
 * Gateway metrics per (service, version): requests, errors (5xx answers of the version, and the
 * gateway's 502/503/504 when its upstream failed: refused, reset, timed out), gateway errors
 * (requests the gateway failed itself — out of file descriptors, ports or memory, or refused
 * by its own choice — counted apart and never as the version's errors, so a healthy canary is
 * never rolled back for the gateway's own EMFILE), 4xx, and latency (request start to
 * response end; gateway errors are left out of it too).
 *
 * Two outputs:
 * - Prometheus text (prom-client, on a registry of its own so several gateways can share a
 *   process; the per-request series are built at scrape time, prometheus.ts), served by the
 *   admin listener (admin.ts) at `/metrics`.
 * - Closed one-second windows shaped like core's MetricWindow, with the latency histogram of
 *   core/latency-histogram.ts (mergeable, ≤ 1% relative error), drained once a second by the
 *   control-plane push (sync.ts). Only traffic of services with a release in progress has a
 *   releaseId and thus windows: the analysis compares canary and stable within one release.
 *
 * Canary fallbacks (a canary user served by stable because no canary endpoint was available)
 * are counted per (service, release) and drained with the windows as events.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { bucketOf, fromBucketCounts } from '../core/latency-histogram.js';
import type { MetricWindow, RoutingTable } from '../core/types.js';
import { countUserError, topUsers, TOP_USERS_PER_WINDOW } from './error-users.js';
import {
  DURATION_BUCKETS,
  registerEndpointGauges,
  registerRequestMetrics,
  registerVersionInfo,
  type EndpointView,
  type Role,
  type ScrapedSeries,
  type VersionView,
} from './prometheus.js';

const WINDOW_MS = 1_000;
/**
 * Closed windows kept for the push (sync.ts drains them every second and bounds its own queue).
 * A gateway nobody drains — one started with a fixed table and no control plane — keeps only
 * the newest, so its memory stays flat however long it runs.
 */
export const MAX_CLOSED_WINDOWS = 10_000;

interface Window {
  start: number;
  requests: number;
  errors: number;
  gatewayErrors: number;
  clientErrors: number;
  /** Errors by user-key hash (error-users.ts), created at the window's first attributed error. */
  errorUsers: Map<string, number> | null;
  /** Latency bucket (core/latency-histogram.ts) → count; a Map keyed by number, not a string-keyed object, on the request path. */
  latency: Map<number, number>;
}

interface Series extends ScrapedSeries {
  readonly releaseId: string | null;
  window: Window;
  readonly totals: { requests: number; errors: number; gatewayErrors: number; clientErrors: number };
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
  readonly gatewayErrors: number;
  readonly clientErrors: number;
}

function emptyWindow(start: number): Window {
  return { start, requests: 0, errors: 0, gatewayErrors: 0, clientErrors: 0, errorUsers: null, latency: new Map() };
}

/** Per-gateway metrics; `clock` is injectable for tests. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #clock: () => number;
  /** Every series, and the same series by service → version → releaseId ('' for none) for the request path. */
  readonly #series = new Set<Series>();
  readonly #index = new Map<string, Map<string, Map<string, Series>>>();
  /**
   * The scrape counts of ended releases' series, folded per (service, role): /metrics' counters
   * never go back, while a gateway that lives through thousands of releases keeps one entry
   * per service and role instead of two series per release.
   */
  readonly #retired = new Map<string, ScrapedSeries>();
  /** Releases the table in use names; null until a table is noted (nothing is retired before). */
  #liveReleases: Set<string> | null = null;
  readonly #closed: MetricWindow[] = [];
  readonly #fallbacks = new Map<string, FallbackEvent>();
  /** Per service, the canary version of the table in use (role labels on /metrics). */
  #canaries = new Map<string, string>();
  #versions: VersionView[] = [];
  readonly #upstreamErrors: Counter<'service' | 'role' | 'kind'>;
  readonly #fallbackCounter: Counter<'service'>;
  readonly #unmatched: Counter;
  readonly #aborted: Counter<'service' | 'role'>;
  readonly #gatewayErrors: Counter<'service' | 'role'>;
  readonly tableVersion: Gauge;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
    const registers = [this.registry];
    registerRequestMetrics(this.registry, { values: () => [...this.#series.values(), ...this.#retired.values()] });
    this.#upstreamErrors = new Counter({
      name: 'tern_gateway_upstream_errors_total',
      help: 'Upstream failures (connect, reset, timeout)',
      labelNames: ['service', 'role', 'kind'],
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
      labelNames: ['service', 'role'],
      registers,
    });
    this.#gatewayErrors = new Counter({
      name: 'tern_gateway_gateway_errors_total',
      help: "Requests the gateway failed itself (local resource errors such as EMFILE, its own refusals); never counted as the version's errors",
      labelNames: ['service', 'role'],
      registers,
    });
    this.tableVersion = new Gauge({ name: 'tern_gateway_routing_table_version', help: 'Version of the routing table in use', registers });
    registerVersionInfo(this.registry, () => this.#versions);
  }

  /** Notes the table in use: which version is each service's canary (the `role` label) and the version info series. */
  noteTable(table: RoutingTable): void {
    this.#liveReleases = new Set(table.routes.flatMap((r) => (r.canary ? [r.canary.releaseId] : [])));
    this.#canaries = new Map(table.routes.flatMap((r) => (r.canary ? [[r.service, r.canary.version] as const] : [])));
    this.#versions = table.routes.flatMap((r) => [
      { service: r.service, role: 'stable' as const, version: r.stable.version },
      ...(r.canary ? [{ service: r.service, role: 'canary' as const, version: r.canary.version }] : []),
    ]);
  }

  /** The role `version` plays in `service` under the table in use. */
  roleOf(service: string, version: string): Role {
    return this.#canaries.get(service) === version ? 'canary' : 'stable';
  }

  /** Exposes each endpoint's availability (1/0) and ejection count, read at scrape time. */
  trackEndpoints(source: () => Iterable<EndpointView>): void {
    registerEndpointGauges(this.registry, this.#clock, source);
  }

  /**
   * Records one finished request. `status` is what the client got (the gateway's own 5xx
   * included). `errorUser` is the hash (error-users.ts) of the user who got a 5xx, or null;
   * callers hash only for errors of a release. Gateway errors go through gatewayError().
   */
  observe(service: string, version: string, releaseId: string | null, status: number, ms: number, errorUser: string | null = null): void {
    const s = this.#seriesFor(service, version, releaseId);
    const w = this.#windowOf(s);
    w.requests++;
    s.totals.requests++;
    if (status >= 500) {
      w.errors++;
      s.totals.errors++;
      if (errorUser !== null) countUserError((w.errorUsers ??= new Map<string, number>()), errorUser);
    } else if (status >= 400) {
      w.clientErrors++;
      s.totals.clientErrors++;
    }
    const bucket = bucketOf(ms);
    w.latency.set(bucket, (w.latency.get(bucket) ?? 0) + 1);
    scrapeCounts(s, status, ms);
  }

  /**
   * Records one request the gateway failed itself with `status` (the client got it): a request
   * of the version and a 5xx class on /metrics, but a gateway error in the window, never one
   * of the version's errors, and left out of the window's latency (not of /metrics' durations).
   */
  gatewayError(service: string, version: string, releaseId: string | null, status: number, ms: number): void {
    const s = this.#seriesFor(service, version, releaseId);
    const w = this.#windowOf(s);
    w.requests++;
    w.gatewayErrors++;
    s.totals.requests++;
    s.totals.gatewayErrors++;
    this.#gatewayErrors.labels(service, s.role).inc();
    scrapeCounts(s, status, ms);
  }

  upstreamError(service: string, version: string, kind: 'connect' | 'reset' | 'timeout' | 'other'): void {
    this.#upstreamErrors.labels(service, this.roleOf(service, version), kind).inc();
  }

  clientAborted(service: string, version: string): void {
    this.#aborted.labels(service, this.roleOf(service, version)).inc();
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
      if (s.window.requests === 0 && s.releaseId !== null && this.#liveReleases?.has(s.releaseId) === false) this.#retire(s);
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
      this.#closed.push({
        releaseId: s.releaseId,
        version: s.version,
        windowStart: w.start,
        windowMs: WINDOW_MS,
        requests: w.requests,
        errors: w.errors,
        latency: fromBucketCounts(w.latency),
        feedbackSum: 0,
        feedbackCount: 0,
        ...(w.gatewayErrors > 0 ? { gatewayErrors: w.gatewayErrors } : {}),
        ...errorUsersOf(w),
      });
      // Drop in batches so a full buffer does not shift the whole array on every close.
      if (this.#closed.length > MAX_CLOSED_WINDOWS) this.#closed.splice(0, this.#closed.length - MAX_CLOSED_WINDOWS + 1_000);
    }
    s.window = emptyWindow(nextStart);
  }

  /** Folds a series of an ended release (its windows all drained) into #retired and forgets it. */
  #retire(s: Series): void {
    const key = `${s.service}\u0000${s.role}`;
    let r = this.#retired.get(key);
    if (r === undefined) {
      r = { service: s.service, version: '', role: s.role, ...emptyScrapeCounts() };
      this.#retired.set(key, r);
    }
    s.classCounts.forEach((n, i) => (r.classCounts[i]! += n));
    s.durationCounts.forEach((n, i) => (r.durationCounts[i]! += n));
    r.durationSum += s.durationSum;
    this.#series.delete(s);
    const byVersion = this.#index.get(s.service);
    const byRelease = byVersion?.get(s.version);
    byRelease?.delete(s.releaseId ?? '');
    if (byRelease?.size === 0) byVersion?.delete(s.version);
  }

  /** How many series are kept per (service, version, release), ended releases' excluded. */
  get seriesCount(): number {
    return this.#series.size;
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
        role: releaseId === null ? 'stable' : this.roleOf(service, version),
        releaseId,
        window: emptyWindow(this.#second()),
        totals: { requests: 0, errors: 0, gatewayErrors: 0, clientErrors: 0 },
        ...emptyScrapeCounts(),
      };
      this.#series.add(s);
      byRelease.set(releaseId ?? '', s);
    }
    return s;
  }
}

/** Zeroed status-class and duration counts of a new scrape series. */
function emptyScrapeCounts(): Pick<ScrapedSeries, 'classCounts' | 'durationCounts' | 'durationSum'> {
  return { classCounts: [0, 0, 0, 0, 0], durationCounts: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), durationSum: 0 };
}

function errorUsersOf(w: Window): { errorUsers?: Record<string, number> } {
  const top = w.errorUsers === null ? undefined : topUsers(w.errorUsers, TOP_USERS_PER_WINDOW);
  return top === undefined ? {} : { errorUsers: top };
}

/** The counts /metrics reads at scrape time (prometheus.ts): status class and duration. */
function scrapeCounts(s: Series, status: number, ms: number): void {
  s.classCounts[Math.min(Math.max(Math.floor(status / 100), 1), 5) - 1]!++;
  const seconds = ms / 1000;
  s.durationSum += seconds;
  let le = 0;
  while (le < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[le]!) le++;
  s.durationCounts[le]!++;
}
