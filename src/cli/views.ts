/**
 * The JSON shapes the REST API answers with (DESIGN §3), as the CLI reads them: weights in
 * percent, times as ISO strings. Only the fields the CLI shows are listed; the API may add more.
 */
import type { Static } from 'typebox';
import type { FeedbackAccepted } from '../api/schemas/audit.js';
import type { ReleaseLogs } from '../api/schemas/releases.js';
import type { MetricsOut } from '../api/schemas/metrics.js';
import type { Rule, ServicePatch } from '../api/schemas/services.js';

/** `POST /api/v1/services/:name/feedback`'s answer, declared once by the API's schema. */
export type FeedbackAcceptedView = Static<typeof FeedbackAccepted>;
/** `GET /api/v1/releases/:id/logs`: the last lines of each started instance. */
export type ReleaseLogsView = Static<typeof ReleaseLogs>;
/** `PATCH /api/v1/services/:name`'s body: each given field replaces the old value. */
export type ServicePatchBody = Static<typeof ServicePatch>;
/** One match rule as the API accepts it (a header or a cookie, equals or regex, a target). */
export type RuleSpec = Static<typeof Rule>;
import type { AnalysisSettings } from '../core/analysis-words.js';

export interface ServiceSpec {
  readonly name: string;
  readonly match?: { readonly host?: string; readonly pathPrefix?: string };
  readonly stickiness?: { readonly header?: string; readonly cookie?: string };
  readonly stable: { readonly version: string; readonly endpoints: readonly string[] };
  readonly rules?: readonly unknown[];
  /** How new versions are started (the API validates it): `{ driver: 'process', command, … }`. */
  readonly deploy?: Readonly<Record<string, unknown>>;
  /** Where releases get their evidence (the API validates it): `{ source: 'prometheus', prometheus: { template, … } }`. */
  readonly metrics?: Readonly<Record<string, unknown>>;
}

export interface ServiceView {
  readonly name: string;
  readonly match: { readonly host?: string; readonly pathPrefix?: string };
  readonly stickiness: { readonly header?: string; readonly cookie?: string };
  readonly stable: { readonly version: string; readonly endpoints: readonly string[] };
  readonly rules?: readonly RuleSpec[];
  /** Where releases get their evidence, with the queries a Prometheus source runs. */
  readonly metrics?: Static<typeof MetricsOut>;
  /** The release in progress, if any (weight in percent). */
  readonly activeRelease?: { readonly id: string; readonly status: string; readonly weight: number } | null;
  readonly createdAt?: string;
  readonly updatedAt?: string;
}

export interface StepView {
  /** Percent. */
  readonly weight: number;
  readonly hold?: string;
  readonly holdMs?: number;
  readonly analysis?: boolean;
}

export interface ReleaseView {
  readonly id: string;
  readonly service: string;
  readonly version: string;
  readonly endpoints?: readonly string[];
  readonly baseline?: { readonly version: string; readonly endpoints?: readonly string[] };
  readonly status: string;
  /** Percent. */
  readonly weight: number;
  readonly stepIndex: number;
  readonly steps?: readonly StepView[];
  /** Fractions (0.2 = 20%) and milliseconds, as the API answers them. */
  readonly analysis?: AnalysisSettings;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly createdBy?: string;
  readonly startedAt: string;
  readonly stepStartedAt?: string;
  /** When the data planes applied the step's weight (the hold runs from here); null while waiting. */
  readonly stepAppliedAt?: string | null;
  readonly routingVersion?: number | null;
  readonly updatedAt?: string;
  readonly endedAt: string | null;
  readonly reason: string | null;
}

export interface AuditView {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly source?: string | null;
  readonly action: string;
  readonly target: string;
  readonly service?: string | null;
  readonly outcome: string;
  readonly reason: string | null;
}

export interface TokenView {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly createdAt: string;
  readonly lastUsedAt?: string | null;
  readonly revokedAt?: string | null;
}

export interface TokenCreated extends TokenView {
  readonly secret: string;
}

/** List answers are wrapped in an object, leaving room for paging fields. */
export interface ServiceList {
  readonly services: ServiceView[];
}
export interface ReleaseList {
  readonly releases: ReleaseView[];
}
export interface AuditList {
  readonly events: AuditView[];
}
export interface TokenList {
  readonly tokens: TokenView[];
}

/** `GET /api/v1/releases/:id/metrics`: per version, totals and per-second windows. */
export interface ReleaseMetricsView {
  readonly releaseId: string;
  readonly versions: ReadonlyArray<{
    readonly version: string;
    /** `canary`, `stable` or `other`. */
    readonly role: string;
    readonly totals: { readonly requests: number; readonly errors: number; readonly errorRate: number | null };
    readonly windows: ReadonlyArray<{ readonly windowStart: string; readonly requests: number; readonly errors: number }>;
  }>;
}

/** One check of a verdict, as the judge reported it (`checks` are untyped in the API schema). */
export interface CheckView {
  readonly check: string;
  readonly outcome: string;
  readonly statistic: number | null;
  readonly bound: number | null;
  readonly detail?: string;
}

export interface VerdictView {
  readonly id: number;
  readonly stepIndex: number;
  readonly judge: string;
  /** `pass`, `fail` or `inconclusive`. */
  readonly outcome: string;
  readonly checks: readonly unknown[];
  readonly at: string;
}

/** `GET /api/v1/releases/:id/analysis`: verdicts newest first. */
export interface AnalysisView {
  readonly releaseId: string;
  readonly verdicts: readonly VerdictView[];
}

/** The `data` of one `GET /api/v1/events` message. */
export interface ChangeEventView {
  readonly kind: string;
  readonly action: string;
  readonly id: string;
  readonly service: string | null;
}
