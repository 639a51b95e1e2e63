/**
 * The release runner's brain, pure: given a progressing release, the judge's latest result and
 * the time, what happens next. Holding, advancing, promoting and failing are decided here and
 * nowhere else; the runner only applies the decision through the store.
 *
 * Rules:
 * - a failed verdict acts at once (the judges are built to be looked at any time);
 * - a step advances when its hold has passed and its analysis passed (or it has none), or
 *   when its evidence is sufficient (each version saw `minRequests`) and shows no regression —
 *   proving a canary no worse can take far longer than a hold, and nobody should have to
 *   babysit a healthy release;
 * - with the sequential judge a passing step may advance early, after a quarter of its hold
 *   (at least `minEarlyMs`): its bounds hold at any stopping time;
 * - inconclusive evidence (low traffic) extends the hold up to `maxExtensionMs`, then the
 *   release pauses and says why — low traffic is never a failure;
 * - after the last step the release is promoted.
 */
import type { Outcome, Release } from '../core/types.js';
import { holdStart } from '../core/data-plane.js';

export interface JudgeSummary {
  readonly outcome: Outcome;
  readonly judge: string;
  /** Enough samples that a regression would have shown (the judge's `sufficient`). */
  readonly sufficient: boolean;
  /** Human sentence naming the failing (or undecided) checks and their evidence. */
  readonly summary: string;
}

export type Decision =
  | { readonly kind: 'hold'; readonly untilMs: number | null }
  | { readonly kind: 'advance'; readonly toStep: number; readonly reason: string }
  | { readonly kind: 'promote'; readonly reason: string }
  | { readonly kind: 'fail'; readonly action: 'rollback' | 'pause'; readonly reason: string }
  | { readonly kind: 'pause'; readonly reason: string };

export interface DecideOptions {
  /** How long past its hold an undecided step may wait for evidence. Default 10 min. */
  readonly maxExtensionMs?: number;
  /** Shortest time before an early pass. Default 10 s. */
  readonly minEarlyMs?: number;
}

/** Decides the next move of a `progressing` release; anything else holds. */
export function decide(release: Release, verdict: JudgeSummary | null, now: number, options: DecideOptions = {}): Decision {
  const step = release.steps[release.stepIndex];
  if (release.status !== 'progressing' || !step) return { kind: 'hold', untilMs: null };
  // The hold runs from when the data planes applied the step's weight (apply-wait.ts), not the store write.
  const start = holdStart(release);
  const elapsed = now - start;
  const stepLabel = `step ${release.stepIndex + 1}/${release.steps.length} (${step.weight / 100}%)`;
  if (step.analysis && verdict?.outcome === 'fail') {
    return { kind: 'fail', action: release.analysis.onFailure, reason: `${verdict.judge} judge failed ${stepLabel}: ${verdict.summary}` };
  }
  const proven = !step.analysis || verdict?.outcome === 'pass';
  const earlyAfter = Math.max(options.minEarlyMs ?? 10_000, step.holdMs / 4);
  if (proven && step.analysis && release.analysis.judge === 'sequential' && elapsed >= earlyAfter && elapsed < step.holdMs) {
    return next(release, stepLabel, 'passed analysis early');
  }
  const clean = verdict?.outcome === 'inconclusive' && verdict.sufficient;
  if (elapsed >= step.holdMs && (proven || clean)) {
    return next(
      release,
      stepLabel,
      !step.analysis ? 'held' : proven ? 'passed analysis' : 'held with enough traffic and no sign of regression',
    );
  }
  const maxExtension = options.maxExtensionMs ?? 600_000;
  if (elapsed >= step.holdMs + maxExtension) {
    return {
      kind: 'pause',
      reason: `${stepLabel} is still inconclusive ${Math.round(maxExtension / 1000)} s after its hold: ${verdict?.summary ?? 'no verdict'} — too little traffic to judge; resume to keep waiting, or promote/roll back by hand`,
    };
  }
  return { kind: 'hold', untilMs: proven || clean ? start + step.holdMs : start + step.holdMs + maxExtension };
}

function next(release: Release, stepLabel: string, how: string): Decision {
  const to = release.stepIndex + 1;
  if (to >= release.steps.length) return { kind: 'promote', reason: `${stepLabel} ${how}; plan complete` };
  return { kind: 'advance', toStep: to, reason: `${stepLabel} ${how}` };
}
