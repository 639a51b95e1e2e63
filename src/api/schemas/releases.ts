/** Schemas of the release routes: start requests, actions and the release as answered. */
import { Type } from 'typebox';
import { JUDGES, type ReleaseStatus } from '../../core/types.js';
import { CustomChecksInput, CustomCheckOut } from './custom-checks.js';
import { BucketHashOut, Duration, Endpoints, IsoTime, Limit, NullableIsoTime, Reason, VersionLabel } from './common.js';
import { DeploymentOut } from './deploy.js';
import { WebhookOut, Webhooks } from './webhooks.js';

const Percent = Type.Number({ minimum: 0, maximum: 100, description: 'percent of users, 0-100, at most two decimals' });

/** A release's status (core/release-state.ts has the allowed moves between them). */
export const ReleaseStatusOut = Type.Enum(
  [
    'pending',
    'progressing',
    'paused',
    'promoting',
    'promoted',
    'rolling_back',
    'rolled_back',
    'failed',
  ] as const satisfies readonly ReleaseStatus[],
  { description: 'pending, progressing, paused, promoting, promoted, rolling_back, rolled_back or failed' },
);

const StepInput = Type.Object(
  {
    weight: Type.Number({
      exclusiveMinimum: 0,
      maximum: 100,
      description: 'percent of users on the canary, above 0 and at most 100, at most two decimals',
    }),
    hold: Type.Optional(Duration),
    analysis: Type.Optional(Type.Boolean({ description: 'whether analysis must pass before the next step (default true)' })),
  },
  { additionalProperties: false },
);

export const StepsInput = Type.Union(
  [Type.String({ minLength: 1, maxLength: 512 }), Type.Array(StepInput, { minItems: 1, maxItems: 20 })],
  {
    description: 'steps like [{"weight":5,"hold":"30s"},{"weight":100}] or a shorthand like "5:30s,25:1m,100"',
  },
);

const NullableNumber = Type.Union([Type.Number({ minimum: 0 }), Type.Null()]);

export const AnalysisInput = Type.Object(
  {
    judge: Type.Optional(Type.Enum(JUDGES)),
    onFailure: Type.Optional(Type.Enum(['rollback', 'pause'])),
    interval: Type.Optional(Duration),
    threshold: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, description: 'threshold judge: failed intervals before the release fails (default 5)' }),
    ),
    minRequests: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        description: 'requests each version needs in a step for its evidence to count as enough (default 100)',
      }),
    ),
    warmup: Type.Optional(Duration),
    errorRate: Type.Optional(
      Type.Object(
        {
          tolerance: Type.Optional(
            Type.Number({
              minimum: 0,
              maximum: 100,
              description: 'relative: fails only above (1 + tolerance) × stable’s rate (default 0.5)',
            }),
          ),
          minDifference: Type.Optional(
            Type.Number({
              minimum: 0,
              maximum: 1,
              description: 'absolute: and only above stable’s rate + this fraction (default 0.001 = 0.1 percentage points)',
            }),
          ),
          max: Type.Optional(NullableNumber),
        },
        { additionalProperties: false },
      ),
    ),
    latency: Type.Optional(
      Type.Object(
        {
          tolerance: Type.Optional(
            Type.Number({
              minimum: 0,
              maximum: 100,
              description: 'relative: fails only when slower by more than this share at some quantile (default 0.2)',
            }),
          ),
          minDifferenceMs: Type.Optional(
            Type.Number({ minimum: 0, maximum: 60_000, description: 'absolute: and by more than this many ms (default 5)' }),
          ),
          p99MaxMs: Type.Optional(NullableNumber),
        },
        { additionalProperties: false },
      ),
    ),
    feedback: Type.Optional(
      Type.Union([
        Type.Object(
          {
            tolerance: Type.Optional(
              Type.Number({ minimum: 0, maximum: 4, description: 'score points the canary’s mean may be below stable’s (default 0.5)' }),
            ),
            minScore: Type.Optional(Type.Union([Type.Number({ minimum: 1, maximum: 5 }), Type.Null()])),
          },
          { additionalProperties: false },
        ),
        Type.Null(),
      ]),
    ),
    checks: Type.Optional(CustomChecksInput),
  },
  { additionalProperties: false },
);

export const Metadata = Type.Record(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$' }), Type.String({ maxLength: 1024 }), {
  maxProperties: 32,
  additionalProperties: false,
  description:
    'string labels (commit, pipeline URL, author): at most 32 keys of 1-128 letters, digits, ".", "_", "/" or "-", values at most 1024 characters',
});

export const ReleaseCreate = Type.Object(
  {
    version: VersionLabel,
    endpoints: Type.Optional(Endpoints),
    steps: Type.Optional(StepsInput),
    analysis: Type.Optional(AnalysisInput),
    webhooks: Type.Optional(Webhooks),
    metadata: Type.Optional(Metadata),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);

export const ActionBody = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });
export const PromoteBody = Type.Object(
  { reason: Type.Optional(Reason), full: Type.Optional(Type.Boolean({ description: 'promote to 100% at once instead of the next step' })) },
  { additionalProperties: false },
);
export const WeightBody = Type.Object({ weight: Percent, reason: Type.Optional(Reason) }, { additionalProperties: false });
export const ReleaseListQuery = Type.Object({ limit: Type.Optional(Limit) }, { additionalProperties: false });

export const StepOut = Type.Object({
  weight: Type.Number({ description: 'percent' }),
  hold: Type.String(),
  holdMs: Type.Integer(),
  analysis: Type.Boolean(),
});
export const AnalysisOut = Type.Object({
  judge: Type.Enum(JUDGES),
  onFailure: Type.Enum(['rollback', 'pause']),
  interval: Type.String(),
  intervalMs: Type.Integer(),
  threshold: Type.Integer(),
  minRequests: Type.Integer(),
  warmup: Type.String(),
  warmupMs: Type.Integer(),
  errorRate: Type.Object({ tolerance: Type.Number(), minDifference: Type.Number(), max: Type.Union([Type.Number(), Type.Null()]) }),
  latency: Type.Object({ tolerance: Type.Number(), minDifferenceMs: Type.Number(), p99MaxMs: Type.Union([Type.Number(), Type.Null()]) }),
  feedback: Type.Union([Type.Object({ tolerance: Type.Number(), minScore: Type.Union([Type.Number(), Type.Null()]) }), Type.Null()]),
  checks: Type.Array(CustomCheckOut, { description: 'custom PromQL checks (docs/metrics.md), [] when none' }),
});

export const GateHoldOut = Type.Object(
  {
    gate: Type.String({ description: 'pre-rollout, confirm-step or pre-promotion' }),
    hook: Type.String({ description: 'the hook URL, token-like parts shown as ***' }),
    answer: Type.String({
      description:
        'refused: a deliberate 4xx "no" (holds, never rolls back); unreachable: an outage (5xx, timeout, no connection; rolls back after maxFailures)',
    }),
    status: Type.Union([Type.Integer(), Type.Null()], { description: 'the HTTP status, null without one' }),
    detail: Type.String({ description: 'a fixed phrase, never the body, e.g. "HTTP 503 (not a 2xx answer)" or "timed out after 5s"' }),
    reason: Type.Union([Type.String(), Type.Null()], {
      description: "a refusal's own reason: its JSON answer's top-level reason, sanitised, at most 80 characters",
    }),
    failures: Type.Integer({ description: 'consecutive outages (0 for a refusal)' }),
    maxFailures: Type.Integer(),
    since: Type.String({ description: 'when this run of refusals or outages began (ISO 8601)' }),
  },
  { description: 'the webhook gate holding the release now (GET /releases/:id only), or null' },
);

export const ReleaseResponse = Type.Object({
  id: Type.String(),
  service: Type.String(),
  version: Type.String(),
  endpoints: Type.Array(Type.String()),
  baseline: Type.Object({ version: Type.String(), endpoints: Type.Array(Type.String()) }),
  status: ReleaseStatusOut,
  weight: Type.Number({ description: 'percent of users on the canary' }),
  bucketHash: BucketHashOut,
  stepIndex: Type.Integer(),
  steps: Type.Array(StepOut),
  analysis: AnalysisOut,
  metadata: Type.Record(Type.String(), Type.String()),
  webhooks: Type.Array(WebhookOut, { description: "the release's own webhooks (its service's apply too); secrets in URLs shown as ***" }),
  deployment: Type.Union([DeploymentOut, Type.Null()], { description: 'instances a deploy driver started for the canary, or null' }),
  createdBy: Type.String(),
  startedAt: IsoTime,
  stepStartedAt: IsoTime,
  routingVersion: Type.Union([Type.Integer(), Type.Null()], {
    description: "the routing version written with the current weight; the step's hold waits for the data planes to apply it",
  }),
  stepAppliedAt: Type.Union([Type.String(), Type.Null()], {
    description:
      "when every live data plane carrying the service had applied routingVersion (the step's hold and evidence start here; the store write when none was live); null while waiting (the reason says for whom)",
  }),
  updatedAt: IsoTime,
  endedAt: NullableIsoTime,
  reason: Type.Union([Type.String(), Type.Null()]),
  gate: Type.Optional(Type.Union([GateHoldOut, Type.Null()])),
});

export const ReleaseList = Type.Object({ releases: Type.Array(ReleaseResponse) });

export const LogsQuery = Type.Object(
  { lines: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'last lines per instance (1-1000, default 100)' })) },
  { additionalProperties: false },
);

export const ReleaseLogs = Type.Object({
  release: Type.String(),
  instances: Type.Array(
    Type.Object({
      index: Type.Integer(),
      pid: Type.Integer(),
      endpoint: Type.String(),
      state: Type.String({ description: 'starting, ready, failed or retired' }),
      lines: Type.Array(Type.String()),
    }),
  ),
});

/** `GET /api/v1/release-defaults`: what a release gets for what its request leaves out. */
export const ReleaseDefaults = Type.Object({
  plan: Type.String({ description: 'the default plan as a shorthand (PERCENT:HOLD, comma-separated), e.g. 5:1m,25:2m,50:2m,100' }),
  steps: Type.Array(StepOut, { description: 'the default plan, compiled' }),
  analysis: AnalysisOut,
  feedback: Type.Object(
    { tolerance: Type.Number(), minScore: Type.Union([Type.Number(), Type.Null()]) },
    { description: 'the feedback check when a release turns it on (`"feedback": {}`); off by default' },
  ),
});
