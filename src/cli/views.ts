/**
 * The JSON shapes the REST API answers with, as the CLI reads them: weights in
 * percent, times as ISO strings. Each is the API's own type (src/api/types.ts, derived from the
 * schemas that serialize the answers), imported type-only; the CLI reads only the fields it
 * shows, so a view requires those and leaves the rest optional (an older server may lack them).
 */
import type {
  AuditEventJson,
  ChangeEventJson,
  FeedbackAcceptedJson,
  ReleaseJson,
  ReleaseLogsJson,
  ReleaseMetricsJson,
  RuleJson,
  ServiceJson,
  ServicePatchJson,
  StepJson,
  TokenCreatedJson,
  TokenJson,
  VerdictJson,
} from '../api/types.js';

/** `T` with only the keys `K` required: what the CLI needs of an answer to show it. */
type Needs<T, K extends keyof T> = Pick<T, K> & Partial<Omit<T, K>>;

/** `POST /api/v1/services/:name/feedback`'s answer. */
export type FeedbackAcceptedView = FeedbackAcceptedJson;
/** `GET /api/v1/releases/:id/logs`: the last lines of each started instance. */
export type ReleaseLogsView = ReleaseLogsJson;
/** `PATCH /api/v1/services/:name`'s body: each given field replaces the old value. */
export type ServicePatchBody = ServicePatchJson;
/** One match rule as the API accepts it (a header or a cookie, equals or regex, a target). */
export type RuleSpec = RuleJson;

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

export type ServiceView = Needs<ServiceJson, 'name' | 'match' | 'stickiness' | 'stable'>;

/** One plan step: weight in percent. */
export type StepView = Needs<StepJson, 'weight'>;

export type ReleaseView = Needs<
  Omit<ReleaseJson, 'baseline' | 'steps'>,
  'id' | 'service' | 'version' | 'status' | 'weight' | 'stepIndex' | 'startedAt' | 'endedAt' | 'reason'
> & {
  readonly baseline?: Needs<ReleaseJson['baseline'], 'version'>;
  readonly steps?: readonly StepView[];
};

export type AuditView = Needs<AuditEventJson, 'id' | 'at' | 'actor' | 'action' | 'target' | 'outcome' | 'reason'>;

export type TokenView = Needs<TokenJson, 'id' | 'name' | 'role' | 'createdAt'>;
export type TokenCreated = TokenCreatedJson;

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

type VersionMetricsJson = ReleaseMetricsJson['versions'][number];
/** `GET /api/v1/releases/:id/metrics`: per version, totals and per-second windows. */
export interface ReleaseMetricsView {
  readonly releaseId: string;
  readonly versions: ReadonlyArray<
    Needs<Omit<VersionMetricsJson, 'totals' | 'windows'>, 'version' | 'role'> & {
      readonly totals: Needs<VersionMetricsJson['totals'], 'requests' | 'errors' | 'errorRate'>;
      readonly windows: ReadonlyArray<Needs<VersionMetricsJson['windows'][number], 'windowStart' | 'requests' | 'errors'>>;
    }
  >;
}

/** One check of a verdict, as the judge reported it (stored as JSON: read defensively). */
export type CheckView = Needs<VerdictJson['checks'][number], 'check' | 'outcome' | 'statistic' | 'bound'>;

/** A verdict; its checks come as stored, so each is read defensively (events.ts). */
export type VerdictView = Needs<Omit<VerdictJson, 'checks'>, 'id' | 'stepIndex' | 'judge' | 'outcome' | 'at'> & {
  readonly checks: readonly unknown[];
};

/** `GET /api/v1/releases/:id/analysis`: verdicts newest first. */
export interface AnalysisView {
  readonly releaseId: string;
  readonly verdicts: readonly VerdictView[];
}

/** The `data` of one `GET /api/v1/events` message (read defensively: follow.ts). */
export type ChangeEventView = Needs<ChangeEventJson, 'kind' | 'action' | 'id' | 'service'>;
