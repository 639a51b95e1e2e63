/**
 * The API's answers as TypeScript types, derived once from the TypeBox schemas that serialize
 * them (`Static<>`), for the clients: the CLI (src/cli/views.ts) and the dashboard
 * (web/src/api.ts) import them type-only, so no server code reaches their bundles.
 */
import type { Static } from 'typebox';
import type { CheckVerdict } from '../analysis/verdict.js';
import type {
  AnalysisResponse,
  AuditEventResponse,
  AuditList,
  ChangeEventOut,
  FeedbackAccepted,
  ReleaseMetricsResponse,
  VerdictOut,
} from './schemas/audit.js';
import type {
  AnalysisOut,
  ReleaseDefaults,
  ReleaseList,
  ReleaseLogs,
  ReleaseResponse,
  ReleaseStatusOut,
  StepOut,
} from './schemas/releases.js';
import type { Rule, ServiceList, ServicePatch, ServiceResponse } from './schemas/services.js';
import type { TokenCreated, TokenList, TokenResponse, WhoAmI } from './schemas/tokens.js';
import type { WebhookIn, WebhookOut } from './schemas/webhooks.js';

/** `GET /api/v1/services/:name`. */
export type ServiceJson = Static<typeof ServiceResponse>;
/** `GET /api/v1/services`. */
export type ServiceListJson = Static<typeof ServiceList>;
/** `PATCH /api/v1/services/:name`'s body: each given field replaces the old value. */
export type ServicePatchJson = Static<typeof ServicePatch>;
/** One match rule as the API accepts it (a header or a cookie, equals or regex, a target). */
export type RuleJson = Static<typeof Rule>;

/** A release's status. */
export type ReleaseStatusJson = Static<typeof ReleaseStatusOut>;
/** `GET /api/v1/releases/:id`. */
export type ReleaseJson = Static<typeof ReleaseResponse>;
/** `GET /api/v1/services/:name/releases`. */
export type ReleaseListJson = Static<typeof ReleaseList>;
/** One step of a plan: weight in percent, hold as written and in ms. */
export type StepJson = Static<typeof StepOut>;
/** A release's analysis settings with defaults filled: fractions (0.2 = 20%) and milliseconds. */
export type AnalysisJson = Static<typeof AnalysisOut>;
/** `GET /api/v1/release-defaults`. */
export type ReleaseDefaultsJson = Static<typeof ReleaseDefaults>;
/** `GET /api/v1/releases/:id/logs`: the last lines of each started instance. */
export type ReleaseLogsJson = Static<typeof ReleaseLogs>;
/** A webhook as a release or service start request gives it. */
export type WebhookInJson = Static<typeof WebhookIn>;
/** A webhook as the API answers it (secrets in URLs shown as ***). */
export type WebhookJson = Static<typeof WebhookOut>;

/** `GET /api/v1/releases/:id/metrics`: per version, totals and per-second windows. */
export type ReleaseMetricsJson = Static<typeof ReleaseMetricsResponse>;
export type VersionMetricsJson = ReleaseMetricsJson['versions'][number];
export type MetricWindowJson = VersionMetricsJson['windows'][number];
/** One check of a verdict, as the judge reported it (the schema leaves `checks` open; analysis/verdict.ts declares them). */
export type CheckJson = CheckVerdict;
/** A judge's verdict, its checks typed. */
export type VerdictJson = Omit<Static<typeof VerdictOut>, 'checks'> & { readonly checks: readonly CheckJson[] };
/** `GET /api/v1/releases/:id/analysis`: verdicts newest first, and alerts. */
export type AnalysisResponseJson = Omit<Static<typeof AnalysisResponse>, 'verdicts'> & { readonly verdicts: readonly VerdictJson[] };
export type AlertJson = AnalysisResponseJson['alerts'][number];

/** One audit event. */
export type AuditEventJson = Static<typeof AuditEventResponse>;
/** `GET /api/v1/audit`, `GET /api/v1/releases/:id/events`. */
export type AuditListJson = Static<typeof AuditList>;
/** The `data` of one `GET /api/v1/events` message. */
export type ChangeEventJson = Static<typeof ChangeEventOut>;
/** `POST /api/v1/services/:name/feedback`. */
export type FeedbackAcceptedJson = Static<typeof FeedbackAccepted>;

/** A token (never its secret). */
export type TokenJson = Static<typeof TokenResponse>;
/** `POST /api/v1/tokens`: the token with its secret, shown once. */
export type TokenCreatedJson = Static<typeof TokenCreated>;
/** `GET /api/v1/tokens`. */
export type TokenListJson = Static<typeof TokenList>;

/** `GET /api/v1/whoami`. */
export type WhoAmIJson = Static<typeof WhoAmI>;
