/**
 * Domain objects to the API's JSON: weights in percent and times in ISO 8601 (docs/api.md),
 * except the routing table, which keeps basis points for the data plane. Secrets, salts
 * and hashes never appear here except where a route must hand them out (routing table salts).
 */
import { totalCount } from '../core/latency-histogram.js';
import type { CustomCheck } from '../core/custom-checks.js';
import { formatDuration } from '../core/duration.js';
import type {
  AnalysisConfig,
  AuditEvent,
  MetricWindow,
  Release,
  RoutingTable,
  Service,
  Step,
  TokenInfo,
  VersionSpec,
} from '../core/types.js';
import { FULL_WEIGHT, bpsToPercent } from '../core/weight.js';
import type { Static } from 'typebox';
import { iso, isoOrNull } from './input.js';
import { deployJson, deploymentJson, webhookJson } from './present-delivery.js';
import { metricsJson } from './service-metrics.js';
import type { AnalysisVerdict } from '../store/store.js';
import type { AuditEventResponse, VerdictOut } from './schemas/audit.js';
import type { RoutingResponse } from './schemas/dataplane.js';
import type { ReleaseResponse, StepOut } from './schemas/releases.js';
import type { ServiceResponse } from './schemas/services.js';
import type { TokenResponse } from './schemas/tokens.js';

/** A service with a summary of its active release (or null). */
export function serviceJson(service: Service, active: Release | undefined): Static<typeof ServiceResponse> {
  return {
    name: service.name,
    match: { ...service.match },
    stickiness: { ...service.stickiness },
    stable: versionJson(service.stable),
    rules: service.rules.map((r) => ({ ...r })),
    webhooks: (service.webhooks ?? []).map(webhookJson),
    deploy: deployJson(service.deploy),
    metrics: metricsJson(service.name, service.metrics),
    activeRelease: active ? { id: active.id, version: active.version, status: active.status, weight: bpsToPercent(active.weight) } : null,
    createdAt: iso(service.createdAt),
    updatedAt: iso(service.updatedAt),
  };
}

function versionJson(v: VersionSpec): { version: string; endpoints: string[] } {
  return { version: v.version, endpoints: [...v.endpoints] };
}

/** A plan step: weight in percent, hold as written and in ms. */
export function stepJson(s: Step): Static<typeof StepOut> {
  return { weight: bpsToPercent(s.weight), hold: formatDuration(s.holdMs), holdMs: s.holdMs, analysis: s.analysis };
}

export function analysisJson(a: AnalysisConfig) {
  return {
    judge: a.judge,
    onFailure: a.onFailure,
    interval: formatDuration(a.intervalMs),
    intervalMs: a.intervalMs,
    threshold: a.failureThreshold,
    minRequests: a.minRequests,
    warmup: formatDuration(a.warmupMs),
    warmupMs: a.warmupMs,
    errorRate: a.errorRate,
    latency: a.latency,
    feedback: a.feedback,
    checks: (a.checks ?? []).map(customCheckJson),
  };
}

/** A release; the salt stays inside (it would let anyone predict who lands on the canary). */
export function releaseJson(r: Release): Static<typeof ReleaseResponse> {
  return {
    id: r.id,
    service: r.service,
    version: r.version,
    endpoints: [...r.endpoints],
    baseline: versionJson(r.baseline),
    status: r.status,
    weight: bpsToPercent(r.weight),
    bucketHash: r.bucketHash,
    stepIndex: r.stepIndex,
    steps: r.steps.map(stepJson),
    analysis: analysisJson(r.analysis),
    metadata: { ...r.metadata },
    webhooks: (r.webhooks ?? []).map(webhookJson),
    deployment: deploymentJson(r.deployment),
    createdBy: r.createdBy,
    startedAt: iso(r.startedAt),
    stepStartedAt: iso(r.stepStartedAt),
    routingVersion: r.routingVersion ?? null,
    stepAppliedAt: r.stepAppliedAt === undefined ? iso(r.stepStartedAt) : isoOrNull(r.stepAppliedAt),
    updatedAt: iso(r.updatedAt),
    endedAt: isoOrNull(r.endedAt),
    reason: r.reason,
  };
}

export function tokenJson(t: TokenInfo): Static<typeof TokenResponse> {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    createdAt: iso(t.createdAt),
    lastUsedAt: isoOrNull(t.lastUsedAt),
    revokedAt: isoOrNull(t.revokedAt),
  };
}

export function auditJson(e: AuditEvent): Static<typeof AuditEventResponse> {
  return {
    id: e.id,
    at: iso(e.at),
    actor: e.actor,
    source: e.source,
    action: e.action,
    target: e.target,
    service: e.service,
    outcome: e.outcome,
    reason: e.reason,
    detail: e.detail === null ? null : { ...e.detail },
  };
}

export function windowJson(w: MetricWindow) {
  return {
    windowStart: iso(w.windowStart),
    windowMs: w.windowMs,
    requests: w.requests,
    errors: w.errors,
    latency: w.latency,
    feedbackSum: w.feedbackSum,
    feedbackCount: w.feedbackCount,
    gatewayErrors: w.gatewayErrors ?? 0,
    latencySamples: totalCount(w.latency),
    ...(w.latencySampleRate === undefined ? {} : { latencySampleRate: w.latencySampleRate }),
    ...(w.errorUsers === undefined ? {} : { errorUsers: { ...w.errorUsers } }),
  };
}

/** A judge's verdict with the evidence behind it. */
export function verdictJson(v: AnalysisVerdict): Static<typeof VerdictOut> {
  return {
    id: v.id,
    stepIndex: v.stepIndex,
    judge: v.judge,
    outcome: v.outcome,
    checks: [...v.checks],
    windowFrom: isoOrNull(v.windowFrom),
    windowTo: isoOrNull(v.windowTo),
    at: iso(v.at),
  };
}

/** The routing table as gateways read it: weights stay basis points (`weightScale` says so). */
export function routingJson(table: RoutingTable): Static<typeof RoutingResponse> {
  return {
    version: table.version,
    weightScale: FULL_WEIGHT,
    routes: table.routes.map((r) => ({
      service: r.service,
      match: { ...r.match },
      stickiness: { ...r.stickiness },
      rules: r.rules.map((rule) => ({ ...rule })),
      stable: versionJson(r.stable),
      canary: r.canary
        ? {
            ...versionJson(r.canary),
            weight: r.canary.weight,
            salt: r.canary.salt,
            releaseId: r.canary.releaseId,
            bucketHash: r.canary.bucketHash ?? 'murmur3',
          }
        : null,
    })),
  };
}

/** A custom check as answered: its compiled settings, the bound under the name the input used (max or min). */
function customCheckJson(c: CustomCheck) {
  const common = {
    name: c.name,
    kind: c.kind,
    url: c.url,
    direction: c.direction,
    interval: formatDuration(c.intervalMs),
    intervalMs: c.intervalMs,
  };
  if (c.kind === 'gauge')
    return {
      ...common,
      query: c.query,
      tolerance: c.tolerance,
      minDifference: c.minDifference,
      min: c.min,
      max: c.max,
      evaluations: c.evaluations,
    };
  const bound = c.direction === 'lower-is-better' ? { max: c.bound } : { min: c.bound };
  return {
    ...common,
    events: c.events,
    total: c.total,
    tolerance: c.tolerance,
    minDifference: c.minDifference,
    ...bound,
    minTotal: c.minTotal,
  };
}
