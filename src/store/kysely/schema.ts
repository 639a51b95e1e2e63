/**
 * The database schema as Kysely sees it: one interface per table, column names as stored.
 * JSON is stored as text and times as integer epoch ms so the same schema runs on SQLite and
 * PostgreSQL; rows.ts converts between these rows and the domain types.
 */
import type { Generated } from 'kysely';

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

/** Key/value settings; holds `routing_version`. */
export interface MetaTable {
  key: string;
  value: string;
}

export interface ServicesTable {
  name: string;
  /** JSON ServiceMatch. */
  match: string;
  /** JSON Stickiness. */
  stickiness: string;
  stable_version: string;
  /** JSON string[]. */
  stable_endpoints: string;
  /** JSON MatchRule[]. */
  rules: string;
  /** JSON Webhook[]; null before migration 4 (none). */
  webhooks: string | null;
  /** JSON DeploySpec; null means static. */
  deploy: string | null;
  /** JSON ServiceMetrics; null (rows before migration 11) means builtin. */
  metrics: string | null;
  created_at: number;
  updated_at: number;
}

export interface ReleasesTable {
  id: string;
  service: string;
  version: string;
  /** JSON string[]. */
  endpoints: string;
  /** JSON VersionSpec: the stable version when the release started. */
  baseline: string;
  status: string;
  step_index: number;
  weight: number;
  salt: string;
  /** 'xxh32' or 'murmur3' (migration 8; 'murmur3' for releases stored before it). */
  bucket_hash: string;
  /** JSON Step[]. */
  steps: string;
  /** JSON AnalysisConfig. */
  analysis: string;
  /** JSON Record<string, string>. */
  metadata: string;
  /** JSON Webhook[]; null before migration 4 (none). */
  webhooks: string | null;
  /** JSON Deployment: processes a deploy driver started for the canary; null for static endpoints. */
  deployment: string | null;
  created_by: string;
  started_at: number;
  step_started_at: number;
  /** Migration 9: the routing version written with the current weight. */
  routing_version: number | null;
  /** Migration 9: when every live data plane had applied it; null while waiting. */
  step_applied_at: number | null;
  updated_at: number;
  ended_at: number | null;
  reason: string | null;
}

export interface MetricWindowsTable {
  release_id: string;
  version: string;
  window_start: number;
  /** Who reported the window (migration 10): the pushing data plane's name; '' for feedback and rows from before. */
  source: string;
  window_ms: number;
  requests: number;
  errors: number;
  /** JSON sparse histogram: bucket index -> count. */
  latency: string;
  feedback_sum: number;
  feedback_count: number;
  /** Requests the gateway failed itself (migration 5; 0 before). */
  gateway_errors: number;
  /** JSON user-key hash -> errors, the heaviest users only; null when none (and before migration 5). */
  error_users: string | null;
  /** Share of requests the latency histogram sampled (migration 10); null = every request timed. */
  latency_sample_rate: number | null;
}

export interface FeedbackTable {
  id: Generated<number>;
  service: string;
  score: number;
  user_key: string | null;
  version: string | null;
  release_id: string | null;
  at: number;
}

/** An open bucket of accepted feedback for the audit log: one per (service, minute start, actor). */
export interface FeedbackAuditTable {
  service: string;
  minute: number;
  actor: string;
  action: string;
  target: string;
  first_at: number;
  last_at: number;
  /** JSON FeedbackTally (src/store/kysely/feedback-audit.ts). */
  tally: string;
}

export interface AlertsTable {
  id: Generated<number>;
  release_id: string;
  metric: string;
  threshold: number;
  observed: number;
  triggered_at: number;
  resolved_at: number | null;
}

export interface AuditEventsTable {
  id: Generated<number>;
  at: number;
  actor: string;
  source: string | null;
  action: string;
  target: string;
  service: string | null;
  outcome: string;
  reason: string | null;
  /** JSON object or null. */
  detail: string | null;
}

export interface TokensTable {
  id: string;
  name: string;
  role: string;
  secret_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface AnalysisVerdictsTable {
  id: Generated<number>;
  release_id: string;
  step_index: number;
  judge: string;
  /** VerdictOutcome. */
  outcome: string;
  /** JSON unknown[]: per-check evidence. */
  checks: string;
  window_from: number | null;
  window_to: number | null;
  at: number;
}

/** Named leases (controller leadership): who holds each and until when (epoch ms). */
export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: number;
}

/** Migration 9: each data plane's latest status report. */
export interface DataPlanesTable {
  name: string;
  kind: string;
  applied_version: number;
  /** JSON RouterFeatures. */
  features: string;
  /** JSON string[]; null = every service. */
  services: string | null;
  first_seen: number;
  last_seen: number;
  left_at: number | null;
}

export interface Database {
  schema_migrations: SchemaMigrationsTable;
  meta: MetaTable;
  services: ServicesTable;
  releases: ReleasesTable;
  metric_windows: MetricWindowsTable;
  feedback: FeedbackTable;
  feedback_audit: FeedbackAuditTable;
  alerts: AlertsTable;
  audit_events: AuditEventsTable;
  tokens: TokensTable;
  analysis_verdicts: AnalysisVerdictsTable;
  leases: LeasesTable;
  data_planes: DataPlanesTable;
}
