/** Schemas of what-if replay: the settings to replay with, and the per-step report. */
import { type Static, Type } from 'typebox';
import { IsoTime, NullableIsoTime } from './common.js';
import { AnalysisInput, AnalysisOut } from './releases.js';

export const ReplayBody = Type.Object(
  {
    analysis: Type.Optional({
      ...AnalysisInput,
      description: "analysis settings as a release start takes them, partial: merged over the release's own",
    }),
  },
  { additionalProperties: false },
);

const NullableString = Type.Union([Type.String(), Type.Null()]);

const CheckOut = Type.Object({
  check: Type.String({ description: 'error-rate, error-ceiling, latency, p99-ceiling or feedback' }),
  outcome: Type.String({ description: 'pass, fail or inconclusive' }),
  statistic: Type.Union([Type.Number(), Type.Null()]),
  bound: Type.Union([Type.Number(), Type.Null()]),
  stableSamples: Type.Integer(),
  canarySamples: Type.Integer(),
  sufficient: Type.Boolean(),
  detail: Type.String(),
});

const ReplayedVerdict = Type.Object({
  judge: Type.String(),
  outcome: Type.String({ description: 'pass, fail or inconclusive' }),
  sufficient: Type.Boolean(),
  at: IsoTime,
  checks: Type.Array(CheckOut),
});

const RealStepOut = Type.Object({
  outcome: Type.String({ description: 'advanced, promoted, rolled-back, paused, failed, running or ended' }),
  startedAt: IsoTime,
  endedAt: NullableIsoTime,
  by: Type.Union([Type.String(), Type.Null()], { description: 'who ended the step: system (the controller) or token:<name>' }),
  reason: NullableString,
  notes: Type.Array(Type.String(), { description: 'hand-set weights and pauses during the step' }),
});

const ReplayedStepOut = Type.Object({
  outcome: Type.String({
    description:
      'fail, pause (undecided too long), pass, undecided (evidence ended first), not-reached (replay had stopped) or no-evidence',
  }),
  at: NullableIsoTime,
  afterMs: Type.Union([Type.Integer(), Type.Null()], { description: "ms from the step's real start to the replayed decision" }),
  reason: Type.String(),
  action: Type.Union([Type.Literal('rollback'), Type.Literal('pause'), Type.Null()], { description: 'on a failure, what onFailure does' }),
  verdict: Type.Union([ReplayedVerdict, Type.Null()], {
    description: 'the first failing verdict on a failure, the deciding one on a pass, else the last one',
  }),
  looks: Type.Integer({ description: 'how many times the judge looked' }),
});

export const ReplayResponse = Type.Object({
  releaseId: Type.String(),
  service: Type.String(),
  version: Type.String(),
  analysis: AnalysisOut,
  outcome: Type.Object({
    kind: Type.String({ description: 'fail, pause, promote or no-failure' }),
    at: NullableIsoTime,
    stepIndex: Type.Union([Type.Integer(), Type.Null()]),
    reason: Type.String(),
  }),
  real: Type.Object({ status: Type.String(), endedAt: NullableIsoTime, reason: NullableString }),
  summary: Type.String({ description: 'one sentence: the replay next to what really happened' }),
  note: Type.String(),
  looks: Type.Integer(),
  steps: Type.Array(
    Type.Object({
      stepIndex: Type.Integer(),
      weight: Type.Number({ description: 'percent' }),
      hold: Type.String(),
      holdMs: Type.Integer(),
      analysis: Type.Boolean(),
      real: Type.Union([RealStepOut, Type.Null()], { description: 'what really happened; null when the release never reached the step' }),
      replay: ReplayedStepOut,
      note: NullableString,
    }),
  ),
});

/** The replay report as answered (the CLI reads it by this type). */
export type ReplayJson = Static<typeof ReplayResponse>;
