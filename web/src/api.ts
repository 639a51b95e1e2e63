/**
 * The dashboard's API client: the answer shapes it reads (the API's own, src/api/types.ts) and one
 * `request` function that adds the bearer token and turns every failure into an `ApiError`
 * — a 401 also tells the session it ended, a network failure says the control plane is down.
 */

import type {
  AlertJson,
  AnalysisJson,
  AnalysisResponseJson,
  AuditEventJson,
  CheckJson,
  MetricWindowJson,
  ReleaseDefaultsJson,
  ReleaseJson,
  ReleaseLogsJson,
  ReleaseMetricsJson,
  ReleaseStatusJson,
  ServiceJson,
  StepJson,
  VerdictJson,
  VersionMetricsJson,
  WebhookJson,
  WhoAmIJson,
} from '../../src/api/types';
import type { Outcome, Role } from '../../src/core/types';

// The API's answers, declared once beside its schemas (src/api/types.ts) and imported type-only:
// nothing of the server reaches the bundle.
export type { Outcome, Role };
export type Access = 'read' | 'release' | 'admin' | 'dataplane';
export type WhoAmI = WhoAmIJson;
export type Service = ServiceJson;
export type ReleaseStatus = ReleaseStatusJson;
export const FINAL_STATUSES: readonly ReleaseStatus[] = ['promoted', 'rolled_back', 'failed'];
export type Step = StepJson;
/** A release's analysis settings with defaults filled: fractions (0.2 = 20%) and milliseconds. */
export type AnalysisConfig = AnalysisJson;
export type Release = ReleaseJson;
export type Webhook = WebhookJson;
/** `GET /api/v1/release-defaults`: the plan and analysis settings a release gets when the form leaves them empty. */
export type ReleaseDefaults = ReleaseDefaultsJson;
export type ReleaseLogs = ReleaseLogsJson;
export type AuditEvent = AuditEventJson;
export type MetricWindow = MetricWindowJson;
export type VersionMetrics = VersionMetricsJson;
export type MetricsResponse = ReleaseMetricsJson;
export type CheckVerdict = CheckJson;
export type Verdict = VerdictJson;
export type Alert = AlertJson;
export type AnalysisResponse = AnalysisResponseJson;

export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/** Every failed call: `status` 0 means the control plane could not be reached at all. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null = null,
    readonly problems: readonly FieldProblem[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get unreachable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

/** A client for `token`; `onUnauthorized` runs when the API answers 401 (token revoked or unknown). */
export function createApi(token: string, onUnauthorized: (message: string) => void): Api {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), cache: 'no-store' });
    } catch {
      throw new ApiError(0, 'NETWORK', 'The control plane cannot be reached. It may be down or restarting; this page retries by itself.');
    }
    if (res.ok) return (await res.json()) as T;
    const err = await toApiError(res);
    if (res.status === 401) onUnauthorized(err.message);
    throw err;
  };
  return {
    get: (path) => call('GET', path),
    send: (method, path, body) => call(method, path, body),
  };
}

/** Reads the API's error envelope `{"error":{code,message,details}}` (or whatever came instead). */
export async function toApiError(res: Response): Promise<ApiError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // the body is lost; the status still says enough
  }
  try {
    const parsed = JSON.parse(text) as {
      error?: { code?: string; message?: string; details?: { field?: string; errors?: FieldProblem[] } };
    };
    if (parsed.error?.code) {
      const details = parsed.error.details;
      return new ApiError(
        res.status,
        parsed.error.code,
        parsed.error.message ?? res.statusText,
        details?.field ?? null,
        Array.isArray(details?.errors)
          ? details.errors
          : details?.field
            ? [{ field: details.field, message: parsed.error.message ?? '' }]
            : [],
      );
    }
  } catch {
    // not JSON: a proxy's error page, say
  }
  const unreachable = res.status === 502 || res.status === 503 || res.status === 504;
  return new ApiError(
    res.status,
    unreachable ? 'UNAVAILABLE' : 'HTTP_' + String(res.status),
    unreachable ? `The control plane is not available (HTTP ${res.status}); retrying.` : `HTTP ${res.status} ${res.statusText}`,
  );
}

/** Checks a token and returns who it belongs to, without a session (the sign-in form uses it). */
export async function whoAmI(token: string): Promise<WhoAmI> {
  return createApi(token, () => undefined).get<WhoAmI>('/api/v1/whoami');
}

export const enc = encodeURIComponent;
