/** Schemas of a release's custom PromQL checks (`analysis.checks`; core/custom-checks.ts compiles them). */
import { Type } from 'typebox';
import { CHECK_DIRECTIONS, CHECK_NAME_PATTERN, CUSTOM_CHECK_KINDS, MAX_CUSTOM_CHECKS, MAX_QUERY_LENGTH } from '../../core/custom-checks.js';
import { Duration } from './common.js';

const Query = (what: string) =>
  Type.String({ minLength: 1, maxLength: MAX_QUERY_LENGTH, description: `PromQL: ${what}, with $version naming the version` });
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

const CustomCheckInput = Type.Object(
  {
    name: Type.String({ pattern: CHECK_NAME_PATTERN, description: 'the check’s name in verdicts and alerts: 1-63 of a-z 0-9 . _ -' }),
    kind: Type.Enum([...CUSTOM_CHECK_KINDS], {
      description: 'ratio: events/total counters judged anytime-valid; gauge: one value judged by a threshold rule',
    }),
    url: Type.Optional(Type.String({ maxLength: 2048, description: "this check's Prometheus (default: the server's --prometheus-url)" })),
    direction: Type.Optional(Type.Enum([...CHECK_DIRECTIONS], { description: 'default lower-is-better' })),
    interval: Type.Optional(Duration),
    events: Type.Optional(Query('ratio: a cumulative counter of the events (e.g. failed checkouts)')),
    total: Type.Optional(Query('ratio: a cumulative counter of the total (e.g. checkouts)')),
    query: Type.Optional(Query('gauge: one value per version')),
    tolerance: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'relative part of the tolerance' })),
    minDifference: Type.Optional(Type.Number({ minimum: 0, description: 'absolute part of the tolerance' })),
    min: Type.Optional(NullableNumber),
    max: Type.Optional(NullableNumber),
    minTotal: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
    evaluations: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);

export const CustomChecksInput = Type.Array(CustomCheckInput, {
  maxItems: MAX_CUSTOM_CHECKS,
  description: `custom PromQL checks, at most ${MAX_CUSTOM_CHECKS} (docs/metrics.md "Custom checks")`,
});

export const CustomCheckOut = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  url: Type.Union([Type.String(), Type.Null()], { description: "null: the server's --prometheus-url" }),
  direction: Type.String(),
  interval: Type.String(),
  intervalMs: Type.Integer(),
  events: Type.Optional(Type.String()),
  total: Type.Optional(Type.String()),
  query: Type.Optional(Type.String()),
  tolerance: Type.Union([Type.Number(), Type.Null()]),
  minDifference: Type.Number(),
  min: Type.Optional(NullableNumber),
  max: Type.Optional(NullableNumber),
  minTotal: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  evaluations: Type.Optional(Type.Integer()),
});
