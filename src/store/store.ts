/**
 * The `Store` interface: Tern's only persistent state. Every state change is written in one
 * transaction together with its audit event, so a crash never loses or half-applies one.
 * Implementations: `SqliteStore` (embedded default) and `PostgresStore` (production, several
 * controllers sharing one database); one contract suite (store-contract.ts) runs against each.
 */
import type {
  Alert,
  AuditEvent,
  AuditInput,
  BucketHash,
  Feedback,
  MetricWindow,
  Outcome,
  Release,
  Role,
  RoutingTable,
  Service,
  TokenInfo,
} from '../core/types.js';
import type { DataPlane, DataPlaneReport } from '../core/data-plane.js';

/** A committed change, published after its transaction commits (for SSE and routing watches). */
export interface StoreChange {
  readonly kind: 'service' | 'release' | 'token';
  readonly action: string;
  /** Service name, release id or token id. */
  readonly id: string;
  readonly service: string | null;
  readonly routingVersion: number;
  readonly audit: AuditEvent;
}

export type ServiceInput = Omit<Service, 'createdAt' | 'updatedAt'>;
export type ServicePatch = Partial<Omit<ServiceInput, 'name'>>;

/** A release to start; `bucketHash` defaults to the current one (core/sticky.ts CURRENT_BUCKET_HASH). */
export type ReleaseInput = Omit<
  Release,
  'updatedAt' | 'stepStartedAt' | 'endedAt' | 'reason' | 'baseline' | 'bucketHash' | 'routingVersion' | 'stepAppliedAt'
> & {
  readonly bucketHash?: BucketHash;
};

export interface AuditFilter {
  readonly service?: string;
  readonly actor?: string;
  readonly action?: string;
  readonly since?: number;
  /** Returns events with id below this (for paging backwards). */
  readonly before?: number;
  readonly limit?: number;
}

export interface AuditExportRange {
  readonly afterId?: number;
  readonly since?: number;
  readonly until?: number;
  readonly limit?: number;
}

export interface TokenRecord extends TokenInfo {
  readonly secretHash: string;
}

/** A lease as readLease finds it. */
export interface LeaseState {
  readonly holder: string;
  readonly expiresAt: number;
  /** `expiresAt` is still ahead of the store's clock. */
  readonly live: boolean;
}

/** A metric over its limit for a release, as the controller reports it. */
export interface AlertInput {
  readonly releaseId: string;
  readonly metric: string;
  readonly threshold: number;
  readonly observed: number;
  /** When it was observed (epoch ms); becomes `triggeredAt` of a new alert. */
  readonly at: number;
}

/** A stored verdict's outcome: the judges' own. */
export type VerdictOutcome = Outcome;

/**
 * One judge's verdict on one step of a release, with the evidence behind it (each
 * check's statistic, bound and sample sizes, and the windows it used), so nobody has to guess
 * why a release moved on or rolled back.
 */
export interface VerdictInput {
  readonly releaseId: string;
  readonly stepIndex: number;
  readonly judge: string;
  readonly outcome: VerdictOutcome;
  /** Per-check evidence as the judge reported it; stored as JSON. */
  readonly checks: readonly unknown[];
  /** First and last metric window (epoch ms) the verdict used; null when it used none. */
  readonly windowFrom: number | null;
  readonly windowTo: number | null;
  readonly at: number;
}

export interface AnalysisVerdict extends VerdictInput {
  readonly id: number;
  readonly checks: unknown[];
}

/**
 * Persistent state. Mutations take the audit event that describes them and write both
 * atomically. Reads never block writers (WAL on SQLite, MVCC on PostgreSQL).
 */
export interface Store {
  /** Closes connections; pending writes finish first. */
  close(): Promise<void>;

  /**
   * Calls `listener` after each committed change; returns an unsubscribe function. A store's
   * own changes are heard before the write's promise resolves; on PostgreSQL, changes other
   * stores sharing the database commit are heard too, shortly after, in commit order.
   */
  subscribe(listener: (change: StoreChange) => void): () => void;

  // services
  /** @throws ConflictError TERN_SERVICE_EXISTS */
  createService(input: ServiceInput, audit: AuditInput): Promise<Service>;
  listServices(): Promise<Service[]>;
  getService(name: string): Promise<Service | undefined>;
  /** @throws NotFoundError TERN_SERVICE_NOT_FOUND; ConflictError TERN_RELEASE_ACTIVE when changing `stable` during a release */
  updateService(name: string, patch: ServicePatch, audit: AuditInput): Promise<Service>;
  /** Deletes the service and its release history. @throws NotFoundError, ConflictError TERN_RELEASE_ACTIVE */
  deleteService(name: string, audit: AuditInput): Promise<void>;

  // releases
  /**
   * Starts a release; `baseline` is the service's stable version at that moment.
   * @throws NotFoundError TERN_SERVICE_NOT_FOUND; ConflictError TERN_RELEASE_ACTIVE (one active per service),
   * TERN_VERSION_IS_STABLE (the version is already stable)
   */
  createRelease(input: ReleaseInput, audit: AuditInput): Promise<Release>;
  getRelease(id: string): Promise<Release | undefined>;
  /** Newest first. */
  listReleases(filter: { readonly service?: string; readonly active?: boolean; readonly limit?: number }): Promise<Release[]>;
  /**
   * Reads the release, applies the pure `change` (which may throw, e.g. an illegal move) and
   * writes the result with the audit event, all in one transaction. When the release ends
   * promoted, the service's stable version becomes the canary's. When what users see changes
   * (weight, step, endpoints, status), `routingVersion` becomes the routing version written and
   * `stepAppliedAt` null — or the write's time when no live data plane carries the service.
   * @throws NotFoundError TERN_RELEASE_NOT_FOUND, or whatever `change` throws (nothing is written then)
   */
  updateRelease(id: string, change: (current: Release) => Release, audit: AuditInput | ((next: Release) => AuditInput)): Promise<Release>;

  // data plane
  routingTable(): Promise<RoutingTable>;
  /**
   * Records a data plane's status report (an upsert by name: first seen kept, last seen = now,
   * a report with `leaving` marks it left, any later one clears that). Cheap on purpose — no
   * audit event, no routing-version bump — since every data plane sends one every few seconds.
   * Returns the current routing version and whether this was the data plane's first report.
   */
  reportDataPlane(report: DataPlaneReport): Promise<{ readonly routingVersion: number; readonly firstReport: boolean }>;
  /** Every data plane that ever reported, by name. */
  listDataPlanes(): Promise<DataPlane[]>;

  // evidence
  /**
   * Stores `source`'s windows (source: the pushing data plane's name). A window is kept per
   * (release, version, windowStart, source) and a repeat from the same source REPLACES it, so
   * a retried push or a re-read log never counts twice; windows sharing a key within one call
   * add up first. Windows of unknown releases are dropped (logged), the rest kept.
   * @throws ValidationError when `source` is empty
   */
  appendMetricWindows(source: string, windows: readonly MetricWindow[]): Promise<void>;
  /**
   * A release's windows, every source's added up per (version, windowStart) (counts add,
   * histograms merge, see metric-merge.ts), in time order then version; `since` is the first
   * window start wanted, `limit` counts merged windows; `sources`, when given, keeps only the rows
   * of those sources (a Prometheus-sourced release is judged from its own source;
   * `''` names the additive source that feedback scores join).
   */
  listMetricWindows(
    releaseId: string,
    options?: { readonly since?: number; readonly limit?: number; readonly sources?: readonly string[] },
  ): Promise<MetricWindow[]>;
  /**
   * Stores a score and joins it to its version's evidence (the metric window of its second).
   * Its audit event is not written one per score: `audit` is added, in the same transaction, to
   * the open aggregate of (service, minute of `feedback.at`, `audit.actor`), which
   * `flushFeedbackAudit` writes as one event once the minute is over.
   * @throws NotFoundError TERN_SERVICE_NOT_FOUND, TERN_RELEASE_NOT_FOUND (a release of another service)
   */
  addFeedback(feedback: Feedback, audit: AuditInput): Promise<void>;
  /**
   * Writes each feedback aggregate whose minute ended at or before `closedBy` (epoch ms; pass
   * `Number.MAX_SAFE_INTEGER` to write the open ones too, e.g. on shutdown) as one audit event
   * (its first `action` and `target`, detail: count, sum, mean, byVersion, unattributed,
   * releases, sources) and removes it; each aggregate is written once, however many
   * processes flush at the same time. Returns how many events it wrote.
   */
  flushFeedbackAudit(closedBy: number): Promise<number>;
  /** Oldest first, resolved ones included. */
  listAlerts(releaseId: string): Promise<Alert[]>;
  /**
   * Raises an alert, or updates `observed` of the one already open for (release, metric); one
   * open alert per (release, metric), however often or concurrently it is raised.
   * @throws NotFoundError TERN_RELEASE_NOT_FOUND
   */
  raiseAlert(input: AlertInput): Promise<Alert>;
  /** Resolves the open alert of (release, metric) at `at`; does nothing when none is open. */
  resolveAlert(releaseId: string, metric: string, at: number): Promise<void>;

  // analysis verdicts
  /**
   * Stores a verdict. Keeps every pass and fail; an inconclusive verdict replaces the one
   * before it of the same (release, step) when that one was inconclusive too, so a judge
   * looking every second leaves one row per run of inconclusive looks, not thousands.
   * @throws NotFoundError TERN_RELEASE_NOT_FOUND
   */
  recordVerdict(verdict: VerdictInput): Promise<void>;
  /** Newest first (by `at`, then by insertion); default limit 100, at most 1000. */
  listVerdicts(releaseId: string, options?: { readonly limit?: number }): Promise<AnalysisVerdict[]>;

  // controller leadership (several controllers share PostgreSQL and elect one leader)
  /**
   * Takes, renews or (once expired) takes over the lease `name` for `ttlMs` from the store's
   * clock; true when `holder` holds it afterwards. Holders' clocks should agree to well within
   * `ttlMs`. @throws ValidationError TERN_INVALID_REQUEST when `ttlMs` is not a positive number
   */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `holder` holds it (so another controller need not wait for expiry). */
  releaseLease(name: string, holder: string): Promise<void>;
  /**
   * The lease `name` as it stands, read without taking it (a follower checks that someone leads):
   * its holder, when it expires and whether that is still ahead of the store's clock; undefined
   * when nobody ever took it or it was released.
   */
  readLease(name: string): Promise<LeaseState | undefined>;

  // audit
  /** Records an event that changed no state (a denied or rejected request). */
  appendAudit(event: AuditInput): Promise<AuditEvent>;
  /** Newest first; default limit 100, at most 1000. */
  listAudit(filter: AuditFilter): Promise<AuditEvent[]>;
  /** Oldest first, for export: events with id above `afterId` and `at` in [since, until); default limit 100, at most 1000. */
  listAuditForExport(range: AuditExportRange): Promise<AuditEvent[]>;
  /** The highest event id a complete export has covered (0 when none). */
  auditExportMark(): Promise<number>;
  /** Moves the export mark up to `throughId` (never down); returns the mark now. */
  markAuditExported(throughId: number): Promise<number>;
  /** Deletes events older than `before` (ms) that the export mark has passed; returns how many. */
  pruneAudit(before: number): Promise<number>;

  // tokens
  createToken(
    input: { readonly id: string; readonly name: string; readonly role: Role; readonly secretHash: string },
    audit: AuditInput,
  ): Promise<TokenInfo>;
  listTokens(): Promise<TokenInfo[]>;
  /** Active (not revoked) token by secret hash. */
  findTokenByHash(secretHash: string): Promise<TokenRecord | undefined>;
  /** @throws NotFoundError TERN_TOKEN_NOT_FOUND */
  revokeToken(id: string, audit: AuditInput): Promise<TokenInfo>;
  /** Records use; cheap and not audited (it is not a state change anyone acts on). */
  touchToken(id: string, at: number): Promise<void>;
  countTokens(): Promise<number>;
}
