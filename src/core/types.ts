/**
 * Tern's domain types: the compiled, trusted shapes the store, controller and data plane
 * work with. User input becomes these only through the compile functions in this folder.
 * Weights are basis points (0..10000); durations are milliseconds; times are epoch ms.
 */
import type { CustomCheck } from './custom-checks.js';

/** Token roles; `feedback` tokens may only submit user feedback scores (src/api/auth/access.ts). */
export type Role = 'viewer' | 'deployer' | 'admin' | 'gateway' | 'feedback';
export const ROLES: readonly Role[] = ['viewer', 'deployer', 'admin', 'gateway', 'feedback'];

/** How a request is matched to a service: host and/or path prefix (at least one). */
export interface ServiceMatch {
  readonly host?: string;
  readonly pathPrefix?: string;
}

/** Where the user key for the sticky split comes from: header, else cookie, else client IP. */
export interface Stickiness {
  readonly header?: string;
  readonly cookie: string;
}

/** An operator-written rule that sends matching requests to a version. */
export interface MatchRule {
  readonly header?: string;
  readonly cookie?: string;
  readonly equals?: string;
  readonly regex?: string;
  readonly target: 'canary' | 'stable';
}

export interface VersionSpec {
  readonly version: string;
  readonly endpoints: readonly string[];
}

export interface Service {
  readonly name: string;
  readonly match: ServiceMatch;
  readonly stickiness: Stickiness;
  readonly stable: VersionSpec;
  readonly rules: readonly MatchRule[];
  /** Gates and notifications for every release of this service (with the release's own). Read back as [] when none. */
  readonly webhooks?: readonly Webhook[];
  /** How new versions are started; read back as `{ driver: 'static' }` when none was declared. */
  readonly deploy?: DeploySpec;
  /** Where its releases' evidence comes from; read back as `{ source: 'builtin' }` when none was declared. */
  readonly metrics?: ServiceMetrics;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/**
 * An outgoing HTTP call Tern makes. Gates (`pre-rollout`, `confirm-step`, `pre-promotion`)
 * hold the release until they answer 2xx; `event` hooks are told of every state change.
 */
export type WebhookType = 'pre-rollout' | 'pre-promotion' | 'confirm-step' | 'event';
export const WEBHOOK_TYPES: readonly WebhookType[] = ['pre-rollout', 'pre-promotion', 'confirm-step', 'event'];
export type WebhookFormat = 'json' | 'slack';

export interface Webhook {
  readonly type: WebhookType;
  readonly url: string;
  readonly timeoutMs: number;
  /** Extra attempts of one delivery (events) or one gate call, after the first. */
  readonly retries: number;
  /** Consecutive gate outages (5xx, timeouts; not 4xx refusals, which only hold) before the release rolls back. */
  readonly maxFailures: number;
  readonly format: WebhookFormat;
  /** `event` hooks: only these actions (e.g. `release.rollback`); null for all. */
  readonly events: readonly string[] | null;
}

/** Ready query sets for common exporters (src/providers/metrics/prometheus-templates.ts), or `custom` PromQL. */
export const PROMETHEUS_TEMPLATES = ['tern-gateway', 'haproxy', 'nginx-ingress', 'istio', 'linkerd', 'custom'] as const;
export type PrometheusTemplate = (typeof PROMETHEUS_TEMPLATES)[number];

/**
 * PromQL of one version's cumulative series (any may override a template's): `$version` becomes
 * the version label, `$role` becomes `canary` or `stable`.
 */
export interface PrometheusQueryOverrides {
  readonly requests?: string;
  readonly errors?: string;
  readonly latencyBuckets?: string;
  /** Unit of the `le` bounds: `s` (Prometheus convention) or `ms`. */
  readonly latencyUnit?: 's' | 'ms';
}

/**
 * A service's evidence source: `builtin` (Tern's gateways and agents) or `prometheus` (the
 * queries of a template, with params, or custom PromQL). A prometheus-sourced service is
 * judged from its Prometheus windows only.
 */
export interface ServiceMetrics {
  readonly source: 'builtin' | 'prometheus';
  readonly prometheus?: {
    /** Default: the server's `--prometheus-url`. */
    readonly url?: string;
    readonly template: PrometheusTemplate;
    readonly params?: Readonly<Record<string, string>>;
    readonly queries?: PrometheusQueryOverrides;
    /** How often Prometheus scrapes the exporter (ms, default 15 s): sets the window, the read lag and staleness. */
    readonly scrapeIntervalMs?: number;
  };
}

/** Deploy drivers (docs/api.md, "Deploy drivers"): `static` endpoints come with the release; `process` starts local processes. */
export type DeploySpec = StaticDeploy | ProcessDeploy;

export interface StaticDeploy {
  readonly driver: 'static';
}

export interface ProcessDeploy {
  readonly driver: 'process';
  /** Command line with `{port}` and `{version}` placeholders; split into argv, no shell. */
  readonly command: string;
  readonly instances: number;
  readonly readiness: { readonly path: string; readonly timeoutMs: number };
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | null;
  /** Delay between a version leaving the routing table and its processes being stopped. */
  readonly retireAfterMs: number;
}

/** One process the process driver started, as persisted with the release that started it. */
export interface DeployedInstance {
  readonly index: number;
  readonly pid: number;
  readonly port: number;
  readonly endpoint: string;
  readonly logFile: string;
  readonly startedAt: number;
}

/**
 * Deployment state (core/deployment-state.ts): `starting → ready | failed → retired`; a
 * controller restarted mid-launch starts afresh (`starting → starting`).
 */
export type DeploymentState = 'starting' | 'ready' | 'failed' | 'retired';

/** What a deploy driver started for a release: `starting` until every instance is ready. */
export interface Deployment {
  readonly driver: 'process';
  readonly state: DeploymentState;
  readonly instances: readonly DeployedInstance[];
  readonly retiredAt: number | null;
}

/** One stage of a plan: weight in basis points, minimum hold in ms, analysis gate. */
export interface Step {
  readonly weight: number;
  readonly holdMs: number;
  readonly analysis: boolean;
}

/** Analysis methods (docs/analysis.md). */
export const JUDGES = ['sequential', 'threshold', 'mann-whitney'] as const;
export type Judge = (typeof JUDGES)[number];
/** What a judge, a check or a stored verdict says. */
export type Outcome = 'pass' | 'fail' | 'inconclusive';
export type OnFailure = 'rollback' | 'pause';

export interface AnalysisConfig {
  readonly judge: Judge;
  readonly onFailure: OnFailure;
  /** Metric interval: how often the judge looks (sequential) or how long one check covers (threshold, mann-whitney). */
  readonly intervalMs: number;
  /** Failed intervals before the `threshold` judge fails the release (Flagger's `threshold`). */
  readonly failureThreshold: number;
  /**
   * Error rate: the canary fails only when its rate is shown above both (1 + tolerance) × stable's
   * rate and stable's rate + minDifference (a fraction: 0.001 = 0.1 percentage points); `max` is an
   * absolute ceiling on the canary's rate.
   */
  readonly errorRate: { readonly tolerance: number; readonly minDifference: number; readonly max: number | null };
  /**
   * Latency: the canary fails only when it is shown slower than stable, at some quantile, by more
   * than `tolerance` (relative, 0.2 = 20%) and by more than `minDifferenceMs`; `p99MaxMs` is a ceiling.
   */
  readonly latency: { readonly tolerance: number; readonly minDifferenceMs: number; readonly p99MaxMs: number | null };
  /**
   * User feedback (scores 1..5): the canary fails when its mean score is shown below stable's by
   * more than `tolerance` score points, or below `minScore` when one is set.
   */
  readonly feedback: { readonly tolerance: number; readonly minScore: number | null } | null;
  /**
   * A fresh canary's first milliseconds of traffic (from its first request in the release) are not
   * compared for latency; errors and ceilings count from the first request.
   */
  readonly warmupMs: number;
  /**
   * Requests each version needs in a step before its evidence counts as enough: with that many
   * and no sign of regression, a step may end when its hold does, without a formal proof.
   */
  readonly minRequests: number;
  /** The release's own PromQL checks (custom-checks.ts); [] or absent when none. */
  readonly checks?: readonly CustomCheck[];
}

/**
 * Release status. `pending → progressing ⇄ paused → promoting → promoted`; from any
 * non-final state `→ rolling_back → rolled_back`; `failed` when the canary never became ready.
 */
export type ReleaseStatus = 'pending' | 'progressing' | 'paused' | 'promoting' | 'promoted' | 'rolling_back' | 'rolled_back' | 'failed';

export interface Release {
  readonly id: string;
  readonly service: string;
  readonly version: string;
  readonly endpoints: readonly string[];
  readonly baseline: VersionSpec;
  readonly status: ReleaseStatus;
  readonly stepIndex: number;
  /** Canary weight in basis points. */
  readonly weight: number;
  readonly salt: string;
  /** The sticky bucket's hash (core/sticky.ts): 'xxh32' for releases started since migration 8, 'murmur3' before. Never changes. */
  readonly bucketHash: BucketHash;
  readonly steps: readonly Step[];
  readonly analysis: AnalysisConfig;
  readonly metadata: Readonly<Record<string, string>>;
  /** The release's own webhooks (the service's are added when they fire). Read back as [] when none. */
  readonly webhooks?: readonly Webhook[];
  /** Processes a deploy driver started for the canary; null (or absent) for static endpoints. */
  readonly deployment?: Deployment | null;
  readonly createdBy: string;
  readonly startedAt: number;
  readonly stepStartedAt: number;
  /**
   * The routing version written with the current weight (data planes confirm it); null before
   * a weight was written, or for releases stored before migration 9.
   */
  readonly routingVersion?: number | null;
  /**
   * When every live data plane carrying the service had applied `routingVersion` (the step's
   * hold and evidence start here); the store write when none was live; null while waiting.
   */
  readonly stepAppliedAt?: number | null;
  readonly updatedAt: number;
  readonly endedAt: number | null;
  readonly reason: string | null;
}

/**
 * How a release hashes users into buckets (core/sticky.ts): 'xxh32' since migration 8, 'murmur3'
 * for releases that started before (kept so an upgrade never reshuffles users mid-release).
 */
export type BucketHash = 'xxh32' | 'murmur3';

/** One service's entry in the routing table the data plane executes. */
export interface RouteEntry {
  readonly service: string;
  readonly match: ServiceMatch;
  readonly stickiness: Stickiness;
  readonly rules: readonly MatchRule[];
  readonly stable: VersionSpec;
  readonly canary:
    | (VersionSpec & {
        readonly weight: number;
        readonly salt: string;
        readonly releaseId: string;
        /** The release's bucket hash; absent means 'murmur3' (tables and state files from before migration 8). */
        readonly bucketHash?: BucketHash;
      })
    | null;
}

export interface RoutingTable {
  /** Monotonic; bumped by every change that affects routing. */
  readonly version: number;
  readonly routes: readonly RouteEntry[];
}

/** Evidence for one version over one window (per second, from the data plane). */
export interface MetricWindow {
  readonly releaseId: string;
  readonly version: string;
  readonly windowStart: number;
  readonly windowMs: number;
  readonly requests: number;
  readonly errors: number;
  /**
   * Sparse log-bucketed latency histogram: bucket index -> count. Its total is the latency
   * sample size (what the judges' latency checks count); it may be well below `requests` when
   * the data plane samples latency (see `latencySampleRate`).
   */
  readonly latency: Readonly<Record<string, number>>;
  /**
   * The share of requests whose latency the data plane sampled (0 < r ≤ 1); absent means every
   * request was timed. Informational only: requests and errors stay exact, and the histogram's
   * own count is the sample size. A window merged from several sources carries the effective rate.
   */
  readonly latencySampleRate?: number;
  readonly feedbackSum: number;
  readonly feedbackCount: number;
  /**
   * Requests the gateway failed itself (a local resource error such as EMFILE, or its own
   * refusal): part of `requests`, never of `errors`, because the version never saw them.
   * Absent means 0.
   */
  readonly gatewayErrors?: number;
  /** The users with the most errors in the window: user-key hash (hex) → errors; absent when none. */
  readonly errorUsers?: Readonly<Record<string, number>>;
}

export interface Alert {
  readonly id: number;
  readonly releaseId: string;
  readonly metric: string;
  readonly threshold: number;
  readonly observed: number;
  readonly triggeredAt: number;
  readonly resolvedAt: number | null;
}

export type AuditOutcome = 'success' | 'denied' | 'rejected' | 'error';

export interface AuditEvent {
  readonly id: number;
  readonly at: number;
  /** Token name (`token:<name>`), `system` for the controller, `anonymous` when unauthenticated. */
  readonly actor: string;
  readonly source: string | null;
  /** Dotted verb, e.g. `release.rollback`. */
  readonly action: string;
  /** What was acted on, e.g. `service/checkout`, `release/<id>`. */
  readonly target: string;
  /** The service the action concerns, when there is one (for filtering). */
  readonly service: string | null;
  readonly outcome: AuditOutcome;
  readonly reason: string | null;
  readonly detail: Readonly<Record<string, unknown>> | null;
}

/** What a caller supplies for an audit event; id and time are filled by the store. */
export type AuditInput = Omit<AuditEvent, 'id' | 'at' | 'service'> & { readonly at?: number; readonly service?: string | null };

export interface TokenInfo {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

export interface Feedback {
  readonly service: string;
  readonly score: number;
  readonly userKey: string | null;
  readonly version: string | null;
  readonly releaseId: string | null;
  readonly at: number;
}

/** A monotonic-enough wall clock, injectable for tests. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();
