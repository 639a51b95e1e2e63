/**
 * Schemas of the data-plane routes. The routing table keeps weights in BASIS POINTS
 * (0..10000): it is the gateways' contract and they compare buckets against it directly.
 */
import { Type } from 'typebox';
import { BucketHashOut, Id, IsoTime, NullableIsoTime, VersionLabel } from './common.js';

export const RoutingQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, description: 'the routing version the caller has; answer when a newer one exists' })),
    wait: Type.Optional(
      Type.String({ maxLength: 16, description: 'how long to wait for a newer table (default 30s, at most 60s), e.g. 30s' }),
    ),
  },
  { additionalProperties: false },
);

const VersionOut = Type.Object({ version: Type.String(), endpoints: Type.Array(Type.String()) });

export const RoutingResponse = Type.Object({
  version: Type.Integer({ description: 'monotonic routing version' }),
  weightScale: Type.Integer({ description: 'weights below are out of this (10000: basis points)' }),
  routes: Type.Array(
    Type.Object({
      service: Type.String(),
      match: Type.Object({ host: Type.Optional(Type.String()), pathPrefix: Type.Optional(Type.String()) }),
      stickiness: Type.Object({ header: Type.Optional(Type.String()), cookie: Type.String() }),
      rules: Type.Array(Type.Record(Type.String(), Type.String())),
      stable: VersionOut,
      canary: Type.Union([
        Type.Object({
          version: Type.String(),
          endpoints: Type.Array(Type.String()),
          weight: Type.Integer({ description: 'basis points, 0..10000' }),
          salt: Type.String(),
          releaseId: Type.String(),
          bucketHash: BucketHashOut,
        }),
        Type.Null(),
      ]),
    }),
  ),
});

const Count = Type.Integer({ minimum: 0, maximum: 1e12 });

export const MetricWindowInput = Type.Object(
  {
    releaseId: Id,
    version: VersionLabel,
    windowStart: Type.Integer({ minimum: 0, description: "epoch milliseconds; at most 10 min behind and 5 s ahead of the server's clock" }),
    windowMs: Type.Integer({ minimum: 1, maximum: 3_600_000, description: 'must be 1000: gateways report one-second windows' }),
    requests: Count,
    errors: Type.Integer({
      minimum: 0,
      maximum: 1e12,
      description: "the version's errors: its 5xx answers and failed upstream connections",
    }),
    gatewayErrors: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1e12,
        description:
          'requests the gateway failed itself (e.g. out of file descriptors): part of requests, never of errors; errors + gatewayErrors ≤ requests',
      }),
    ),
    errorUsers: Type.Optional(
      Type.Record(Type.String({ pattern: '^[0-9a-f]{1,16}$' }), Count, {
        maxProperties: 16,
        additionalProperties: false,
        description: 'the users with the most errors: hash of the user key (hex) -> their errors, each at most errors',
      }),
    ),
    latency: Type.Record(Type.String({ pattern: '^-?[0-9]{1,6}$' }), Count, {
      maxProperties: 4096,
      additionalProperties: false,
      description:
        'bucket index (integer) -> count; the counts add up to the latency sample size (at most requests, well below it when latency is sampled)',
    }),
    latencySampleRate: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        description:
          'share of requests whose latency was sampled (0 < r ≤ 1; absent = every request timed). Requests and errors stay exact; the judges use the histogram count as the latency sample size',
      }),
    ),
    feedbackSum: Type.Optional(Type.Number({ minimum: 0 })),
    feedbackCount: Type.Optional(Count),
  },
  { additionalProperties: false },
);

/** A gateway's report that a canary's users were served by stable: no canary endpoint could take them. */
export const DataplaneEvent = Type.Object(
  {
    type: Type.Literal('canary_unavailable'),
    service: Type.String({ minLength: 1, maxLength: 63 }),
    releaseId: Id,
    windowStart: Type.Integer({ minimum: 0, description: 'epoch milliseconds of the second it happened in' }),
    count: Type.Integer({ minimum: 1, maximum: 1e12, description: 'requests served by stable instead' }),
  },
  { additionalProperties: false },
);

export const MetricsPush = Type.Object(
  {
    gateway: Type.String({ minLength: 1, maxLength: 128 }),
    windows: Type.Array(MetricWindowInput, { maxItems: 10_000 }),
    events: Type.Optional(Type.Array(DataplaneEvent, { maxItems: 1000 })),
  },
  { additionalProperties: false },
);

export const MetricsPushAccepted = Type.Object({
  accepted: Type.Integer({ description: 'windows stored' }),
  ignored: Type.Integer({ description: 'windows and events left out: of a release that has ended, or older than 10 min' }),
});

export const DataPlaneFeaturesSchema = Type.Object(
  {
    regexRules: Type.Boolean({ description: 'executes match rules with `regex`' }),
    equalsRules: Type.Boolean({ description: 'executes match rules with `equals`' }),
    websocket: Type.Boolean({ description: 'passes WebSocket upgrades' }),
    bucketHashes: Type.Array(Type.String({ minLength: 1, maxLength: 32 }), {
      maxItems: 16,
      description: 'sticky bucket hashes it computes, e.g. ["xxh32", "murmur3"]',
    }),
  },
  { additionalProperties: false },
);

const DataPlaneKindSchema = Type.Union([Type.Literal('builtin'), Type.Literal('haproxy'), Type.Literal('nginx')]);

export const DataPlaneStatus = Type.Object(
  {
    dataPlane: Type.String({
      minLength: 1,
      maxLength: 200,
      description: "the data plane's unique name (also its `gateway` in metric pushes)",
    }),
    kind: DataPlaneKindSchema,
    appliedVersion: Type.Integer({ minimum: 0, description: 'the routing version it executes now (0 before any table)' }),
    features: DataPlaneFeaturesSchema,
    services: Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { maxItems: 10_000 }), Type.Null()], {
      description: 'the services it carries; null = every service',
    }),
    leaving: Type.Optional(Type.Literal(true, { description: 'a clean stop: it no longer carries traffic' })),
  },
  { additionalProperties: false },
);

export const DataPlaneStatusAccepted = Type.Object({
  routingVersion: Type.Integer({ description: 'the current routing version; a data plane behind it should fetch the table' }),
});

export const DataPlaneList = Type.Object({
  liveMs: Type.Integer({ description: 'a data plane is live while its last report is younger than this (ms)' }),
  routingVersion: Type.Integer({ description: 'the current routing version' }),
  dataPlanes: Type.Array(
    Type.Object({
      name: Type.String(),
      kind: DataPlaneKindSchema,
      state: Type.Union([Type.Literal('live'), Type.Literal('stale'), Type.Literal('left')]),
      appliedVersion: Type.Integer(),
      behind: Type.Integer({ description: 'routing versions it is behind the current one' }),
      features: DataPlaneFeaturesSchema,
      services: Type.Union([Type.Array(Type.String()), Type.Null()]),
      firstSeen: IsoTime,
      lastSeen: IsoTime,
      leftAt: NullableIsoTime,
      unsupported: Type.Array(Type.Object({ service: Type.String(), missing: Type.Array(Type.String()) }), {
        description: 'services it carries whose configuration it cannot execute, with what it lacks',
      }),
    }),
  ),
});
