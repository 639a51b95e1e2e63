/**
 * Conversions between table rows (JSON as text, snake_case) and domain types. Numbers go
 * through Number() because PostgreSQL drivers return bigint columns as strings.
 */
import type { Insertable, Selectable } from 'kysely';
import type {
  Alert,
  AnalysisConfig,
  AuditEvent,
  AuditOutcome,
  BucketHash,
  MetricWindow,
  Release,
  ReleaseStatus,
  Role,
  Service,
  TokenInfo,
} from '../../core/types.js';
import { STATIC_DEPLOY } from '../../core/deploy.js';
import { BUILTIN_METRICS } from '../../core/metrics-config.js';
import { StoreError } from '../../core/errors.js';
import { ANALYSIS_DEFAULTS, compileAnalysis } from '../../core/plan.js';
import type { AnalysisVerdict, TokenRecord, VerdictInput, VerdictOutcome } from '../store.js';
import type {
  AlertsTable,
  AnalysisVerdictsTable,
  AuditEventsTable,
  MetricWindowsTable,
  ReleasesTable,
  ServicesTable,
  TokensTable,
} from './schema.js';

const json = (value: unknown): string => JSON.stringify(value);
const parse = <T>(text: string): T => JSON.parse(text) as T;
const numOrNull = (value: number | null): number | null => (value === null ? null : Number(value));

export function toService(row: Selectable<ServicesTable>): Service {
  return {
    name: row.name,
    match: parse(row.match),
    stickiness: parse(row.stickiness),
    stable: { version: row.stable_version, endpoints: parse(row.stable_endpoints) },
    rules: parse(row.rules),
    webhooks: row.webhooks === null ? [] : parse(row.webhooks),
    deploy: row.deploy === null ? STATIC_DEPLOY : parse(row.deploy),
    // Null before migration 11 (and absent from rows read by a store older than it).
    metrics: row.metrics == null ? BUILTIN_METRICS : parse(row.metrics),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function serviceRow(service: Service): Insertable<ServicesTable> {
  return {
    name: service.name,
    match: json(service.match),
    stickiness: json(service.stickiness),
    stable_version: service.stable.version,
    stable_endpoints: json(service.stable.endpoints),
    rules: json(service.rules),
    webhooks: json(service.webhooks ?? []),
    deploy: json(service.deploy ?? STATIC_DEPLOY),
    metrics: json(service.metrics ?? BUILTIN_METRICS),
    created_at: service.createdAt,
    updated_at: service.updatedAt,
  };
}

export function toRelease(row: Selectable<ReleasesTable>): Release {
  return {
    id: row.id,
    service: row.service,
    version: row.version,
    endpoints: parse(row.endpoints),
    baseline: parse(row.baseline),
    status: row.status as ReleaseStatus,
    stepIndex: Number(row.step_index),
    weight: Number(row.weight),
    salt: row.salt,
    bucketHash: bucketHashOf(row.bucket_hash, row.id),
    steps: parse(row.steps),
    // Settings added after a release was stored take their defaults (compileAnalysis of nothing).
    analysis: analysisFromRow(parse<Partial<AnalysisConfig>>(row.analysis)),
    metadata: parse(row.metadata),
    webhooks: row.webhooks === null ? [] : parse(row.webhooks),
    deployment: row.deployment === null ? null : parse(row.deployment),
    createdBy: row.created_by,
    startedAt: Number(row.started_at),
    stepStartedAt: Number(row.step_started_at),
    routingVersion: numOrNull(row.routing_version),
    stepAppliedAt: numOrNull(row.step_applied_at),
    updatedAt: Number(row.updated_at),
    endedAt: numOrNull(row.ended_at),
    reason: row.reason,
  };
}

/** A stored bucket hash; anything else is a damaged row, never read as some default. */
function bucketHashOf(stored: string, id: string): BucketHash {
  if (stored === 'xxh32' || stored === 'murmur3') return stored;
  throw new StoreError(`release ${id} has an unknown bucket hash ${JSON.stringify(stored)} (expected xxh32 or murmur3)`);
}

export function releaseRow(release: Release): Insertable<ReleasesTable> {
  return {
    id: release.id,
    service: release.service,
    version: release.version,
    endpoints: json(release.endpoints),
    baseline: json({ version: release.baseline.version, endpoints: release.baseline.endpoints }),
    status: release.status,
    step_index: release.stepIndex,
    weight: release.weight,
    salt: release.salt,
    bucket_hash: release.bucketHash,
    steps: json(release.steps),
    analysis: json(release.analysis),
    metadata: json(release.metadata),
    webhooks: json(release.webhooks ?? []),
    deployment: release.deployment ? json(release.deployment) : null,
    created_by: release.createdBy,
    started_at: release.startedAt,
    step_started_at: release.stepStartedAt,
    routing_version: release.routingVersion ?? null,
    step_applied_at: release.stepAppliedAt ?? null,
    updated_at: release.updatedAt,
    ended_at: release.endedAt,
    reason: release.reason,
  };
}

export function toMetricWindow(row: Selectable<MetricWindowsTable>): MetricWindow {
  return {
    releaseId: row.release_id,
    version: row.version,
    windowStart: Number(row.window_start),
    windowMs: Number(row.window_ms),
    requests: Number(row.requests),
    errors: Number(row.errors),
    latency: parse(row.latency),
    feedbackSum: Number(row.feedback_sum),
    feedbackCount: Number(row.feedback_count),
    ...(Number(row.gateway_errors) > 0 ? { gatewayErrors: Number(row.gateway_errors) } : {}),
    ...(row.error_users === null ? {} : { errorUsers: parse(row.error_users) }),
    ...(row.latency_sample_rate === null ? {} : { latencySampleRate: Number(row.latency_sample_rate) }),
  };
}

/** The row of `source`'s report of a window. */
export function metricWindowRow(w: MetricWindow, source: string): Insertable<MetricWindowsTable> {
  return {
    release_id: w.releaseId,
    version: w.version,
    window_start: w.windowStart,
    source,
    window_ms: w.windowMs,
    requests: w.requests,
    errors: w.errors,
    latency: json(w.latency),
    feedback_sum: w.feedbackSum,
    feedback_count: w.feedbackCount,
    gateway_errors: w.gatewayErrors ?? 0,
    error_users: w.errorUsers === undefined ? null : json(w.errorUsers),
    latency_sample_rate: w.latencySampleRate ?? null,
  };
}

export function toAlert(row: Selectable<AlertsTable>): Alert {
  return {
    id: Number(row.id),
    releaseId: row.release_id,
    metric: row.metric,
    threshold: Number(row.threshold),
    observed: Number(row.observed),
    triggeredAt: Number(row.triggered_at),
    resolvedAt: numOrNull(row.resolved_at),
  };
}

export function toVerdict(row: Selectable<AnalysisVerdictsTable>): AnalysisVerdict {
  return {
    id: Number(row.id),
    releaseId: row.release_id,
    stepIndex: Number(row.step_index),
    judge: row.judge,
    outcome: row.outcome as VerdictOutcome,
    checks: parse(row.checks),
    windowFrom: numOrNull(row.window_from),
    windowTo: numOrNull(row.window_to),
    at: Number(row.at),
  };
}

export function verdictRow(v: VerdictInput): Insertable<AnalysisVerdictsTable> {
  return {
    release_id: v.releaseId,
    step_index: v.stepIndex,
    judge: v.judge,
    outcome: v.outcome,
    checks: json(v.checks),
    window_from: v.windowFrom,
    window_to: v.windowTo,
    at: v.at,
  };
}

export function toAuditEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: Number(row.id),
    at: Number(row.at),
    actor: row.actor,
    source: row.source,
    action: row.action,
    target: row.target,
    service: row.service,
    outcome: row.outcome as AuditOutcome,
    reason: row.reason,
    detail: row.detail === null ? null : parse(row.detail),
  };
}

export function auditRow(event: Omit<AuditEvent, 'id'>): Insertable<AuditEventsTable> {
  return {
    at: event.at,
    actor: event.actor,
    source: event.source,
    action: event.action,
    target: event.target,
    service: event.service,
    outcome: event.outcome,
    reason: event.reason,
    detail: event.detail === null ? null : json(event.detail),
  };
}

export function toTokenInfo(row: Selectable<TokensTable>): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    createdAt: Number(row.created_at),
    lastUsedAt: numOrNull(row.last_used_at),
    revokedAt: numOrNull(row.revoked_at),
  };
}

export function toTokenRecord(row: Selectable<TokensTable>): TokenRecord {
  return { ...toTokenInfo(row), secretHash: row.secret_hash };
}

export { json as toJson };

/** A stored analysis config with defaults filled for settings added after it was written. */
function analysisFromRow(stored: Partial<AnalysisConfig>): AnalysisConfig {
  const d = compileAnalysis(undefined);
  const f = stored.feedback;
  return {
    ...d,
    ...stored,
    errorRate: { ...d.errorRate, ...stored.errorRate },
    latency: { ...d.latency, ...stored.latency },
    feedback: f ? { tolerance: f.tolerance ?? ANALYSIS_DEFAULTS.feedbackTolerance, minScore: f.minScore ?? null } : null,
  };
}
