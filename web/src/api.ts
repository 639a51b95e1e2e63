/**
 * The dashboard's API client: the answer shapes it reads (mirroring src/api/schemas) and one
 * `request` function that adds the bearer token and turns every failure into an `ApiError`
 * — a 401 also tells the session it ended, a network failure says the control plane is down.
 */

import type { Judge, Outcome, Role } from '../../src/core/types';

export type { Outcome, Role };
export type Access = 'read' | 'release' | 'admin' | 'dataplane';

export interface WhoAmI {
  readonly name: string;
  readonly role: Role;
  readonly access: readonly Access[];
}

export interface VersionSpec {
  readonly version: string;
  readonly endpoints: readonly string[];
}

export interface Service {
  readonly name: string;
  readonly match: { readonly host?: string; readonly pathPrefix?: string };
  readonly stickiness: { readonly header?: string; readonly cookie: string };
  readonly stable: VersionSpec;
  readonly rules: readonly Record<string, string>[];
  readonly activeRelease: { readonly id: string; readonly status: ReleaseStatus; readonly weight: number } | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type ReleaseStatus = 'pending' | 'progressing' | 'paused' | 'promoting' | 'promoted' | 'rolling_back' | 'rolled_back' | 'failed';
export const FINAL_STATUSES: readonly ReleaseStatus[] = ['promoted', 'rolled_back', 'failed'];

export interface Step {
  readonly weight: number;
  readonly hold: string;
  readonly holdMs: number;
  readonly analysis: boolean;
}

/** A release's analysis settings with defaults filled: fractions (0.2 = 20%) and milliseconds. */
export interface AnalysisConfig {
  readonly judge: Judge;
  readonly onFailure: 'rollback' | 'pause';
  readonly interval: string;
  readonly intervalMs: number;
  /** `threshold` judge: failed intervals before the release fails. */
  readonly threshold: number;
  readonly minRequests: number;
  readonly warmup: string;
  readonly warmupMs: number;
  /** Fails above (1 + tolerance) × stable's rate and stable's rate + minDifference; `max` is a ceiling. */
  readonly errorRate: { readonly tolerance: number; readonly minDifference: number; readonly max: number | null };
  /** Fails when slower by more than `tolerance` (relative) and `minDifferenceMs`; `p99MaxMs` is a ceiling. */
  readonly latency: { readonly tolerance: number; readonly minDifferenceMs: number; readonly p99MaxMs: number | null };
  /** Fails when the canary's mean score is `tolerance` points below stable's, or below `minScore`; null: not checked. */
  readonly feedback: { readonly tolerance: number; readonly minScore: number | null } | null;
}

export interface Release {
  readonly id: string;
  readonly service: string;
  readonly version: string;
  readonly endpoints: readonly string[];
  readonly baseline: VersionSpec;
  readonly status: ReleaseStatus;
  readonly weight: number;
  readonly stepIndex: number;
  readonly steps: readonly Step[];
  readonly analysis: AnalysisConfig;
  readonly metadata: Readonly<Record<string, string>>;
  readonly createdBy: string;
  readonly startedAt: string;
  readonly stepStartedAt: string;
  readonly updatedAt: string;
  readonly endedAt: string | null;
  readonly reason: string | null;
}

export interface AuditEvent {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly source: string | null;
  readonly action: string;
  readonly target: string;
  readonly service: string | null;
  readonly outcome: 'success' | 'denied' | 'rejected' | 'error';
  readonly reason: string | null;
  readonly detail: Readonly<Record<string, unknown>> | null;
}

export interface MetricWindow {
  readonly windowStart: string;
  readonly windowMs: number;
  readonly requests: number;
  readonly errors: number;
  readonly latency: Readonly<Record<string, number>>;
  readonly feedbackSum: number;
  readonly feedbackCount: number;
}

export interface VersionMetrics {
  readonly version: string;
  readonly role: 'canary' | 'stable' | 'other';
  readonly totals: {
    readonly requests: number;
    readonly errors: number;
    readonly errorRate: number | null;
    /** Latency samples in the windows shown: the latency checks' sample size (below requests when sampled). */
    readonly latencySamples: number;
  };
  readonly windows: readonly MetricWindow[];
}

export interface MetricsResponse {
  readonly releaseId: string;
  readonly versions: readonly VersionMetrics[];
}

export interface CheckVerdict {
  readonly check: string;
  readonly outcome: Outcome;
  readonly statistic: number | null;
  readonly bound: number | null;
  readonly stableSamples?: number;
  readonly canarySamples?: number;
  readonly detail?: string;
}

export interface Verdict {
  readonly id: number;
  readonly stepIndex: number;
  readonly judge: string;
  readonly outcome: Outcome;
  readonly checks: readonly CheckVerdict[];
  readonly windowFrom: string | null;
  readonly windowTo: string | null;
  readonly at: string;
}

export interface Alert {
  readonly id: number;
  readonly metric: string;
  readonly threshold: number;
  readonly observed: number;
  readonly triggeredAt: string;
  readonly resolvedAt: string | null;
}

export interface AnalysisResponse {
  readonly releaseId: string;
  readonly verdicts: readonly Verdict[];
  readonly alerts: readonly Alert[];
}

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
