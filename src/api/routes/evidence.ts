/** Evidence routes: a release's metric windows per version, its analysis, and its audit events. */
import { prometheusSourceName } from '../../control/prometheus-evidence.js';
import { totalCount } from '../../core/latency-histogram.js';
import type { AuditEvent, MetricWindow, Release } from '../../core/types.js';
import type { Store } from '../../store/store.js';
import { iso, isoOrNull, parseSince } from '../input.js';
import { auditJson, verdictJson, windowJson } from '../present.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { AnalysisResponse, AuditList, MetricsQuery, ReleaseMetricsResponse } from '../schemas/audit.js';
import { ERROR_RESPONSES, IdParams } from '../schemas/common.js';
import { mustGetRelease } from './releases.js';

const TAGS = ['evidence'];
/** Pages of the audit log scanned for one release's events (1000 each). */
const MAX_AUDIT_PAGES = 20;

/** Registers the evidence routes. */
export function registerEvidenceRoutes(app: TernApp, { store }: ApiDeps): void {
  app.get(
    '/api/v1/releases/:id/metrics',
    {
      config: { access: 'read' },
      schema: {
        tags: TAGS,
        summary: 'Metric windows per version',
        params: IdParams,
        querystring: MetricsQuery,
        response: { 200: ReleaseMetricsResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const release = await mustGetRelease(store, request.params.id);
      const since = request.query.since === undefined ? undefined : parseSince(request.query.since);
      // A Prometheus-sourced service's releases are judged from their Prometheus windows only: show those.
      const service = await store.getService(release.service);
      const only = service?.metrics?.source === 'prometheus' ? [prometheusSourceName(service.name), ''] : undefined;
      const windows = await store.listMetricWindows(release.id, {
        ...(only === undefined ? {} : { sources: only }),
        ...(since === undefined ? {} : { since }),
        ...(request.query.limit === undefined ? {} : { limit: request.query.limit }),
      });
      return { releaseId: release.id, versions: groupByVersion(release, windows) };
    },
  );

  app.get(
    '/api/v1/releases/:id/analysis',
    {
      config: { access: 'read' },
      schema: {
        tags: TAGS,
        summary: 'Judge verdicts and alerts',
        params: IdParams,
        response: { 200: AnalysisResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const release = await mustGetRelease(store, request.params.id);
      const [verdicts, alerts] = await Promise.all([store.listVerdicts(release.id, { limit: 1000 }), store.listAlerts(release.id)]);
      return {
        releaseId: release.id,
        verdicts: verdicts.map(verdictJson),
        alerts: alerts.map((a) => ({
          id: a.id,
          metric: a.metric,
          threshold: a.threshold,
          observed: a.observed,
          triggeredAt: iso(a.triggeredAt),
          resolvedAt: isoOrNull(a.resolvedAt),
        })),
      };
    },
  );

  app.get(
    '/api/v1/releases/:id/events',
    {
      config: { access: 'read' },
      schema: {
        tags: TAGS,
        summary: 'Audit events about this release, newest first',
        params: IdParams,
        response: { 200: AuditList, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const release = await mustGetRelease(store, request.params.id);
      return { events: (await releaseEvents(store, release)).map(auditJson) };
    },
  );
}

/** Which side of the comparison a version is on: canary, stable, or neither any more. */
function roleOf(release: Release, version: string): 'canary' | 'stable' | 'other' {
  return version === release.version ? 'canary' : version === release.baseline.version ? 'stable' : 'other';
}

function groupByVersion(release: Release, windows: readonly MetricWindow[]) {
  const versions = new Map<string, MetricWindow[]>([
    [release.version, []],
    [release.baseline.version, []],
  ]);
  for (const w of windows) versions.set(w.version, [...(versions.get(w.version) ?? []), w]);
  return [...versions].map(([version, list]) => {
    const requests = list.reduce((n, w) => n + w.requests, 0);
    const errors = list.reduce((n, w) => n + w.errors, 0);
    const latencySamples = list.reduce((n, w) => n + totalCount(w.latency), 0);
    return {
      version,
      role: roleOf(release, version),
      totals: { requests, errors, errorRate: requests === 0 ? null : errors / requests, latencySamples },
      windows: list.map(windowJson),
    };
  });
}

/**
 * The audit events whose target is this release. The store filters by service, not by target,
 * so this pages back through the service's events (at most MAX_AUDIT_PAGES pages).
 */
export async function releaseEvents(store: Store, release: Release): Promise<AuditEvent[]> {
  const target = `release/${release.id}`;
  const found: AuditEvent[] = [];
  let before: number | undefined;
  for (let page = 0; page < MAX_AUDIT_PAGES; page++) {
    const events = await store.listAudit({ service: release.service, limit: 1000, ...(before === undefined ? {} : { before }) });
    found.push(...events.filter((e) => e.target === target));
    if (events.length < 1000) break;
    before = events[events.length - 1]!.id;
  }
  return found;
}
