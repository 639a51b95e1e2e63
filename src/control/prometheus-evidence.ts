/**
 * Prometheus-sourced releases: while this controller leads, one Prometheus source
 * per active release of a service whose `metrics.source` is `prometheus` (targets: the
 * release's canary and stable versions, `$role` canary/stable), its windows written to the
 * store under the source's name (`prometheus:<service>`), and the judging of that release
 * reading those windows only (never the gateways' windows of the same release).
 *
 * No data is never a failure: a query that fails, a requests query with no series, or a
 * source whose newest window is older than 3 scrape intervals plus its read lag makes
 * `noData` say why ("no data from Prometheus: …"), and the step holds (evidence-hold.ts).
 */
import type { Logger } from 'pino';
import { DEFAULT_SCRAPE_INTERVAL_MS } from '../core/metrics-config.js';
import type { Clock, Release, Service } from '../core/types.js';
import {
  prometheusMetricSource,
  type PrometheusQueries,
  type PrometheusSource,
  type PrometheusSourceOptions,
  type PrometheusTarget,
} from '../providers/metrics/prometheus.js';
import { prometheusQueries } from '../providers/metrics/prometheus-templates.js';
import type { Store } from '../store/store.js';

/** The additive source feedback scores join (store/kysely/evidence.ts ADDITIVE_SOURCE). */
const FEEDBACK_SOURCE = '';
/** How far back a source starts reading a release it finds mid-way (a new leader catches up). */
const MAX_CATCH_UP_MS = 10 * 60_000;

export interface PrometheusEvidenceOptions {
  readonly store: Store;
  readonly clock: Clock;
  /** The server's `--prometheus-url`: for services that name none. */
  readonly defaultUrl?: string | undefined;
  readonly logger?: Logger | undefined;
  /** Builds a source (tests); default prometheusMetricSource. */
  readonly createSource?: (options: PrometheusSourceOptions) => PrometheusSource;
}

export interface PrometheusEvidence {
  /** Starts, stops and drains sources for the active releases; call once a tick while leading. */
  sync(releases: readonly Release[], services: readonly Service[]): Promise<void>;
  /** The window sources the release is judged from; undefined = every source (built-in evidence). */
  sourcesOf(release: Release): readonly string[] | undefined;
  /** Why the release has no usable data now ("no data from Prometheus: …"), or null. */
  noData(release: Release, now: number): string | null;
  /** The latency histogram's bucket bounds (ms) of a Prometheus-sourced release; undefined for built-in evidence. */
  latencyBounds(release: Release): readonly number[] | undefined;
  /** The queries a Prometheus-sourced release is judged from. */
  queriesOf(release: Release): PrometheusQueries | undefined;
  /** Stops every source (on losing the lease, and at shutdown). */
  close(): Promise<void>;
}

interface Running {
  readonly source: PrometheusSource;
  readonly release: Release;
  readonly targets: readonly PrometheusTarget[];
  readonly url: string | null;
  readonly scrapeMs: number;
  readonly lagMs: number;
  readonly startedAt: number;
  /** A config that cannot run (no URL): why. */
  readonly broken: string | null;
}

/** The source name of a service's Prometheus windows. */
export const prometheusSourceName = (service: string): string => `prometheus:${service}`;

function targetsOf(release: Release): PrometheusTarget[] {
  return [
    { releaseId: release.id, version: release.version, role: 'canary' },
    { releaseId: release.id, version: release.baseline.version, role: 'stable' },
  ];
}

/** Creates the per-release Prometheus sources. */
export function createPrometheusEvidence(options: PrometheusEvidenceOptions): PrometheusEvidence {
  const { store, clock, logger } = options;
  const create = options.createSource ?? prometheusMetricSource;
  const running = new Map<string, Running>();

  function start(release: Release, service: Service): Running {
    const config = service.metrics!.prometheus!;
    const scrapeMs = config.scrapeIntervalMs ?? DEFAULT_SCRAPE_INTERVAL_MS;
    // One window per scrape (a shorter one would hold no new sample); read once the scrape after it has landed.
    const windowMs = Math.max(1000, Math.ceil(scrapeMs / 1000) * 1000);
    const lagMs = scrapeMs + 1000;
    const url = config.url ?? options.defaultUrl ?? null;
    const targets = targetsOf(release);
    const now = clock();
    const base = { release, targets, url, scrapeMs, lagMs, startedAt: now };
    const queries = prometheusQueries(service.name, config);
    const name = prometheusSourceName(service.name);
    if (url === null) {
      const noop: PrometheusSource = {
        name,
        windowMs,
        queries,
        poll: () => Promise.resolve(),
        health: () => undefined,
        latencyBounds: () => [],
        drainWindows: () => [],
        close: () => Promise.resolve(),
      };
      return {
        ...base,
        source: noop,
        broken: 'no Prometheus URL: start the server with --prometheus-url or set the service’s metrics.prometheus.url',
      };
    }
    const source = create({
      name,
      url,
      queries,
      targets: () => targets,
      windowMs,
      lagMs,
      pollMs: windowMs,
      from: Math.max(release.startedAt, now - MAX_CATCH_UP_MS),
      clock,
      ...(logger ? { logger: logger.child({ source: name }) } : {}),
    });
    logger?.info({ release: release.id, service: service.name, url, windowMs, lagMs }, 'reading release evidence from Prometheus');
    return { ...base, source, broken: null };
  }

  async function stop(id: string): Promise<void> {
    const r = running.get(id);
    running.delete(id);
    await r?.source.close();
  }

  return {
    async sync(releases, services) {
      const byName = new Map(services.map((s) => [s.name, s]));
      const wanted = new Map<string, { release: Release; service: Service }>();
      for (const release of releases) {
        const service = byName.get(release.service);
        if (service?.metrics?.source === 'prometheus' && service.metrics.prometheus) wanted.set(release.id, { release, service });
      }
      for (const id of running.keys()) if (!wanted.has(id)) await stop(id);
      for (const [id, { release, service }] of wanted) {
        const known = running.get(id);
        // A config change (new template, URL) restarts the source.
        if (known && JSON.stringify(known.source.queries) !== JSON.stringify(prometheusQueries(service.name, service.metrics!.prometheus!)))
          await stop(id);
        if (!running.has(id)) running.set(id, start(release, service));
        const r = running.get(id)!;
        running.set(id, { ...r, release });
        const windows = r.source.drainWindows(clock());
        if (windows.length > 0) await store.appendMetricWindows(r.source.name, windows);
      }
    },

    sourcesOf(release) {
      const r = running.get(release.id);
      return r ? [r.source.name, FEEDBACK_SOURCE] : undefined;
    },

    noData(release, now) {
      const r = running.get(release.id);
      if (!r) return null;
      if (r.broken) return `no data from Prometheus: ${r.broken}`;
      const staleMs = 3 * r.scrapeMs + r.lagMs + 2 * r.source.windowMs;
      for (const t of r.targets) {
        const h = r.source.health(t);
        const who = `${t.role} ${t.version}`;
        if (h?.error) return `no data from Prometheus: ${who}: ${h.error}`;
        const newest = h?.lastDataEnd ?? null;
        if (now - (newest ?? r.startedAt) <= staleMs) continue;
        if (h?.empty) return `no data from Prometheus: ${who}: ${h.empty} returned no series`;
        // Worded to stay the same while nothing changes: the reason is written (and audited) when it changes.
        return newest === null
          ? `no data from Prometheus: ${who}: no samples since ${new Date(r.startedAt).toISOString()}`
          : `no data from Prometheus: ${who}: no window since ${new Date(newest).toISOString()} (stale after ${Math.round(staleMs / 1000)} s)`;
      }
      return null;
    },

    latencyBounds(release) {
      return running.get(release.id)?.source.latencyBounds();
    },

    queriesOf(release) {
      return running.get(release.id)?.source.queries;
    },

    async close() {
      await Promise.all([...running.keys()].map(stop));
    },
  };
}
