/** Schemas of the audit and evidence routes. */
import { Type } from 'typebox';
import { IsoTime, Limit, NullableIsoTime, Since } from './common.js';

export const AuditQuery = Type.Object(
  {
    service: Type.Optional(Type.String({ maxLength: 63 })),
    actor: Type.Optional(Type.String({ maxLength: 128, description: 'e.g. token:ci or system' })),
    action: Type.Optional(Type.String({ maxLength: 64, description: 'e.g. release.rollback' })),
    since: Type.Optional(Since),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);

export const AuditExportQuery = Type.Object(
  {
    since: Type.Optional(Since),
    until: Type.Optional(Type.String({ maxLength: 40, description: 'export events before this time (ISO 8601 or epoch ms); default now' })),
  },
  { additionalProperties: false },
);

export const AuditEventResponse = Type.Object({
  id: Type.Integer(),
  at: IsoTime,
  actor: Type.String(),
  source: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  target: Type.String(),
  service: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.Enum(['success', 'denied', 'rejected', 'error'], { description: 'success, denied, rejected or error' }),
  reason: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});

export const AuditList = Type.Object({ events: Type.Array(AuditEventResponse) });

/** The `data` of one `GET /api/v1/events` message: a committed change and its audit event. */
export const ChangeEventOut = Type.Object({
  kind: Type.Enum(['service', 'release', 'token']),
  action: Type.String({ description: 'the audit action, e.g. release.rollback' }),
  id: Type.String({ description: 'the service name, release id or token id' }),
  service: Type.Union([Type.String(), Type.Null()]),
  routingVersion: Type.Union([Type.Integer(), Type.Null()], {
    description: 'the routing version the change wrote; null when it wrote none, and for replayed events',
  }),
  audit: AuditEventResponse,
});

export const MetricsQuery = Type.Object(
  { since: Type.Optional(Since), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })) },
  { additionalProperties: false },
);

const WindowOut = Type.Object({
  windowStart: IsoTime,
  windowMs: Type.Integer(),
  requests: Type.Integer(),
  errors: Type.Integer(),
  latency: Type.Record(Type.String(), Type.Number(), { description: 'sparse log-bucketed latency histogram: bucket index -> count' }),
  feedbackSum: Type.Number(),
  feedbackCount: Type.Integer(),
  gatewayErrors: Type.Integer({ description: 'requests the gateway failed itself (part of requests, never of errors)' }),
  latencySamples: Type.Integer({ description: 'latency samples in the histogram: the sample size the latency checks use' }),
  latencySampleRate: Type.Optional(
    Type.Number({ description: 'share of requests whose latency was sampled (several sources: the effective share); absent = all' }),
  ),
  errorUsers: Type.Optional(
    Type.Record(Type.String(), Type.Integer(), { description: 'the users with the most errors: hash of the user key -> errors' }),
  ),
});

export const ReleaseMetricsResponse = Type.Object({
  releaseId: Type.String(),
  versions: Type.Array(
    Type.Object({
      version: Type.String(),
      role: Type.Enum(['canary', 'stable', 'other'], { description: 'canary, stable, or other (a version neither is any more)' }),
      totals: Type.Object({
        requests: Type.Integer(),
        errors: Type.Integer(),
        errorRate: Type.Union([Type.Number(), Type.Null()]),
        latencySamples: Type.Integer({
          description:
            'latency samples over the windows shown: the latency sample size, below requests when the data plane samples latency',
        }),
      }),
      windows: Type.Array(WindowOut),
    }),
  ),
});

export const VerdictOut = Type.Object({
  id: Type.Integer(),
  stepIndex: Type.Integer(),
  judge: Type.String(),
  outcome: Type.Enum(['pass', 'fail', 'inconclusive'], { description: 'pass, fail or inconclusive' }),
  checks: Type.Array(Type.Unknown(), {
    description: "each check's statistic, bound, sample sizes and verdict, as the judge reported them",
  }),
  windowFrom: NullableIsoTime,
  windowTo: NullableIsoTime,
  at: IsoTime,
});

export const AnalysisResponse = Type.Object({
  releaseId: Type.String(),
  verdicts: Type.Array(VerdictOut, { description: 'judge verdicts, newest first' }),
  alerts: Type.Array(
    Type.Object({
      id: Type.Integer(),
      metric: Type.String(),
      threshold: Type.Number(),
      observed: Type.Number(),
      triggeredAt: IsoTime,
      resolvedAt: NullableIsoTime,
    }),
  ),
});

export const FeedbackBody = Type.Object(
  {
    score: Type.Integer({ minimum: 1, maximum: 5, description: 'an integer from 1 to 5' }),
    userKey: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    version: Type.Optional(Type.String({ maxLength: 128 })),
  },
  { additionalProperties: false },
);

export const FeedbackAccepted = Type.Object({
  accepted: Type.Boolean(),
  releaseId: Type.Union([Type.String(), Type.Null()]),
  version: Type.Union([Type.String(), Type.Null()]),
});
