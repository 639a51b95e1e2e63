/** The replay report as the API answers it: times ISO 8601, weights percent, holds as durations. */
import type { Static } from 'typebox';
import type { ReplayReport, ReplayedStep } from '../control/replay.js';
import type { RealStep } from '../control/timeline.js';
import { formatDuration } from '../core/duration.js';
import { bpsToPercent } from '../core/weight.js';
import { iso, isoOrNull } from './input.js';
import { analysisJson } from './present.js';
import type { ReplayJson, ReplayResponse } from './schemas/replay.js';

type StepJson = Static<typeof ReplayResponse>['steps'][number];

/** What every report says about where its evidence comes from. */
export const REPLAY_NOTE =
  'Replay judges the stored evidence second by second as the controller does, but each step begins when it really began: after a real step change, evidence comes from the real weight.';

/** The report for `release` (service and version name it). */
export function replayJson(report: ReplayReport, release: { readonly service: string; readonly version: string }): ReplayJson {
  return {
    releaseId: report.releaseId,
    service: release.service,
    version: release.version,
    analysis: analysisJson(report.analysis),
    outcome: { ...report.outcome, at: isoOrNull(report.outcome.at) },
    real: { status: report.real.status, endedAt: isoOrNull(report.real.endedAt), reason: report.real.reason },
    summary: report.summary,
    note: REPLAY_NOTE,
    looks: report.looks,
    steps: report.steps.map((s): StepJson => ({
      stepIndex: s.stepIndex,
      weight: bpsToPercent(s.weight),
      hold: formatDuration(s.holdMs),
      holdMs: s.holdMs,
      analysis: s.analysis,
      real: s.real && realJson(s.real),
      replay: replayedJson(s.replay, s.real),
      note: s.note,
    })),
  };
}

function realJson(r: RealStep): NonNullable<StepJson['real']> {
  return {
    outcome: r.outcome,
    startedAt: iso(r.startedAt),
    endedAt: isoOrNull(r.endedAt),
    by: r.by,
    reason: r.reason,
    notes: [...r.notes],
  };
}

function replayedJson(r: ReplayedStep, real: RealStep | null): StepJson['replay'] {
  const v = r.verdict;
  return {
    outcome: r.outcome,
    at: isoOrNull(r.at),
    afterMs: r.at === null || !real ? null : r.at - real.startedAt,
    reason: r.reason,
    action: r.action,
    verdict: v && {
      judge: v.judge,
      outcome: v.outcome,
      sufficient: v.sufficient,
      at: iso(v.at),
      checks: v.checks.map((c) => ({ ...c, statistic: finiteOrNull(c.statistic), bound: finiteOrNull(c.bound) })),
    },
    looks: r.looks,
  };
}

/**
 * JSON has no Infinity: a judge reports an unbounded bound (nothing rejected yet) as Infinity,
 * which the response serializer refused (a 500 on any replay before evidence; found by
 * test/fuzz-api.test.ts). Stored verdicts already read back as null (JSON), so the replay
 * answers the same.
 */
function finiteOrNull(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}
