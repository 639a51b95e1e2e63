/**
 * The JSON shapes the REST API answers with (DESIGN §3), as the CLI reads them: weights in
 * percent, times as ISO strings. Only the fields the CLI shows are listed; the API may add more.
 */

export interface ServiceSpec {
  readonly name: string;
  readonly match?: { readonly host?: string; readonly pathPrefix?: string };
  readonly stickiness?: { readonly header?: string; readonly cookie?: string };
  readonly stable: { readonly version: string; readonly endpoints: readonly string[] };
  readonly rules?: readonly unknown[];
}

export interface ServiceView {
  readonly name: string;
  readonly match: { readonly host?: string; readonly pathPrefix?: string };
  readonly stickiness: { readonly header?: string; readonly cookie?: string };
  readonly stable: { readonly version: string; readonly endpoints: readonly string[] };
  readonly rules?: readonly unknown[];
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
  readonly analysis?: { readonly judge?: string; readonly onFailure?: string };
  readonly metadata?: Readonly<Record<string, string>>;
  readonly createdBy?: string;
  readonly startedAt: string;
  readonly stepStartedAt?: string;
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
