/**
 * The controller's per-status handling: one move of one active release along its plan — a
 * pending release's instances started and its pre-rollout gate passed, a progressing step's
 * weight confirmed by the data planes, judged and decided (advance, promote, fail, pause),
 * promoting and rolling-back releases finished. Every move goes through the compare-and-set
 * mover (move.ts); the loop, lease and metrics live in runner.ts.
 */
import type { JudgeResult } from '../analysis/verdict.js';
import { isGateHoldText } from '../core/gate-hold.js';
import { transition } from '../core/release-state.js';
import type { Release, ReleaseStatus } from '../core/types.js';
import type { AwaitApplied } from './apply-wait.js';
import { decide, type DecideOptions, type Decision } from './decide.js';
import type { Deployer } from './drivers/deployer.js';
import { withHoldPaused, type EvidenceHold } from './evidence-hold.js';
import type { PassGate } from './gate-step.js';
import { summarize, type Judging } from './judging.js';
import type { ControllerMetrics } from './metrics.js';
import type { Move } from './move.js';

/** What driving a release needs: the mover, gates, data-plane wait, deployer and judging. */
export interface DriveParts {
  readonly move: Move;
  readonly passGate: PassGate;
  readonly awaitApplied: AwaitApplied;
  readonly deployer: Deployer;
  readonly judging: Judging;
  readonly decide?: DecideOptions | undefined;
  readonly metrics?: ControllerMetrics | undefined;
  /** Holds a step whose evidence is missing (Prometheus-sourced releases); absent: never holds. */
  readonly evidenceHold?: EvidenceHold | undefined;
  /** Extra audit detail of a judged move (the Prometheus queries a release was judged from). */
  readonly judgedFrom?: ((release: Release) => Record<string, unknown> | null) | undefined;
}

/** Moves one active release one step along; throws what the store throws (the loop logs it and retries next tick). */
export type DriveRelease = (release: Release, now: number) => Promise<void>;

const WANTS_INSTANCES: readonly ReleaseStatus[] = ['pending', 'progressing', 'paused'];

/** Creates the per-status handler over `parts`. */
export function createReleaseDriver(parts: DriveParts): DriveRelease {
  const { move, passGate } = parts;

  async function progress(release: Release, now: number): Promise<void> {
    if (!(await parts.awaitApplied(release, now))) return;
    const pausedMs = parts.evidenceHold ? await parts.evidenceHold(release, now) : 0;
    if (pausedMs === null) return;
    const verdict = await parts.judging.judgeStep(release, now);
    if (verdict) parts.metrics?.verdict(verdict.judge, verdict.outcome);
    const summary = verdict
      ? { outcome: verdict.outcome, judge: verdict.judge, sufficient: verdict.sufficient, summary: summarize(verdict) }
      : null;
    await apply(release, decide(withHoldPaused(release, pausedMs), summary, now, parts.decide), now, verdict);
  }

  async function apply(release: Release, decision: Decision, now: number, verdict: JudgeResult | null): Promise<void> {
    const from = parts.judgedFrom?.(release) ?? {};
    const detail = verdict ? { judge: verdict.judge, outcome: verdict.outcome, checks: verdict.checks, ...from } : null;
    switch (decision.kind) {
      case 'hold':
        return;
      case 'advance': {
        if (!(await passGate(release, 'confirm-step', `confirm-step:${decision.toStep}@${release.stepStartedAt}`, decision.toStep, now)))
          return;
        const step = release.steps[decision.toStep]!;
        await move(
          release,
          'release.advance',
          decision.reason,
          (r) => ({ ...r, stepIndex: decision.toStep, weight: step.weight, updatedAt: now, reason: decision.reason }),
          detail,
        );
        return;
      }
      case 'promote':
        if (!(await passGate(release, 'pre-promotion', `pre-promotion@${release.stepIndex}`, null, now))) return;
        await move(release, 'release.promote', decision.reason, (r) => transition(r, 'promoting', now, decision.reason), detail);
        return;
      case 'fail':
        if (decision.action === 'rollback')
          await move(release, 'release.rollback', decision.reason, (r) => transition(r, 'rolling_back', now, decision.reason), detail);
        else await move(release, 'release.pause', decision.reason, (r) => transition(r, 'paused', now, decision.reason), detail);
        return;
      case 'pause':
        await move(release, 'release.pause', decision.reason, (r) => transition(r, 'paused', now, decision.reason), detail);
        return;
      default: {
        const never: never = decision;
        throw new Error(`unknown decision ${JSON.stringify(never)}`);
      }
    }
  }

  return async (release, now) => {
    // A release moved on by hand (promote, resume) before its instances were up still needs them.
    if (release.endpoints.length === 0 && WANTS_INSTANCES.includes(release.status)) {
      if ((await parts.deployer.prepare(release, now)) || release.status === 'pending') return;
    }
    switch (release.status) {
      case 'pending':
        if (!(await passGate(release, 'pre-rollout', 'pre-rollout', null, now))) return;
        await move(release, 'release.start', 'canary endpoints registered', (r) => ({
          ...transition(r, 'progressing', now, null),
          // The pre-rollout gate said yes: its hold no longer explains anything.
          ...(isGateHoldText(r.reason) ? { reason: null } : {}),
          stepIndex: 0,
          weight: r.steps[0]!.weight,
          stepStartedAt: now,
        }));
        return;
      case 'progressing':
        await progress(release, now);
        return;
      case 'promoting':
        await move(release, 'release.promoted', 'canary is now stable', (r) => transition(r, 'promoted', now, null));
        return;
      case 'rolling_back':
        await move(release, 'release.rolled_back', release.reason ?? 'rolled back', (r) => transition(r, 'rolled_back', now, null));
        return;
      default:
        return;
    }
  };
}
