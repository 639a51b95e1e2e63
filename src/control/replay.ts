/**
 * What-if replay (pure, no I/O): a past or running release's stored evidence judged again under
 * other analysis settings, step by step and second by second, exactly as the controller judges
 * — the same accumulator, judge, warm-up rule and `decide` — next to what really happened.
 *
 * Steps begin when they really began: after a real step change the evidence comes from the real
 * weight, so a replay that would have moved on earlier (or later) still reads the traffic split
 * that really ran. The replayed release stops where it would have failed or paused; the real
 * history is reported beside it to the end.
 */
import { EvidenceAccumulator } from '../analysis/accumulator.js';
import type { EvidenceWindow } from '../analysis/evidence.js';
import { judge } from '../analysis/judge.js';
import type { JudgeResult } from '../analysis/verdict.js';
import type { AnalysisConfig, MetricWindow, Release } from '../core/types.js';
import { decide, type DecideOptions, type Decision } from './decide.js';
import { stepEvidence } from './evidence.js';
import { summarize } from './judging.js';
import type { RealStep } from './timeline.js';
import { firstCanaryWindow } from './warmup.js';

export interface ReplayInput {
  /** The release as stored (its plan, baseline and own analysis). */
  readonly release: Release;
  /** Its real steps (timeline.ts), oldest first. */
  readonly timeline: readonly RealStep[];
  /** Its stored metric windows, any order. */
  readonly windows: readonly MetricWindow[];
  /** The settings to judge with (the release's own, or a what-if). */
  readonly analysis: AnalysisConfig;
  /** Evidence of a step still running counts up to here. */
  readonly now: number;
  /** How often the controller looks. Default 1000 ms. */
  readonly tickMs?: number;
  readonly decide?: DecideOptions;
}

/** What the replayed controller did with a step. */
export type ReplayOutcome = 'fail' | 'pause' | 'pass' | 'undecided' | 'not-reached' | 'no-evidence';

export interface ReplayedStep {
  readonly outcome: ReplayOutcome;
  /** When the replayed controller decided; null when it never did. */
  readonly at: number | null;
  /** The decision's sentence (the verdict's, for a failure), or why there was none. */
  readonly reason: string;
  /** On a failure: what the release's `onFailure` would have done. */
  readonly action: 'rollback' | 'pause' | null;
  /** The deciding verdict (the first failing one on a failure), else the last one; null when not judged. */
  readonly verdict: JudgeResult | null;
  /** How many times the judge looked. */
  readonly looks: number;
}

export interface ReplayStepReport {
  readonly stepIndex: number;
  /** Basis points. */
  readonly weight: number;
  readonly holdMs: number;
  readonly analysis: boolean;
  /** The real step; null when the release never really reached it. */
  readonly real: RealStep | null;
  readonly replay: ReplayedStep;
  /** Where the replay's evidence comes from, when that is not obvious. */
  readonly note: string | null;
}

export type ReplayVerdict = 'fail' | 'pause' | 'promote' | 'no-failure';

export interface ReplayReport {
  readonly releaseId: string;
  readonly analysis: AnalysisConfig;
  /** Where the replayed release ends. */
  readonly outcome: {
    readonly kind: ReplayVerdict;
    readonly at: number | null;
    readonly stepIndex: number | null;
    readonly reason: string;
  };
  readonly real: { readonly status: Release['status']; readonly endedAt: number | null; readonly reason: string | null };
  /** One sentence: what the replay says next to what happened. */
  readonly summary: string;
  readonly steps: readonly ReplayStepReport[];
  readonly looks: number;
}

interface Context {
  readonly input: ReplayInput;
  readonly tickMs: number;
  /** When the canary first served requests in the release: its latency warm-up starts there. */
  readonly firstCanaryAt: number | null;
  readonly windowEnds: ReadonlyMap<number, number>;
}

/** Replays the release. @throws RangeError when `tickMs` is not a positive number. */
export function replayRelease(input: ReplayInput): ReplayReport {
  const tickMs = input.tickMs ?? 1000;
  if (!(tickMs > 0)) throw new RangeError(`tickMs must be positive, got ${tickMs}`);
  const windowEnds = new Map<number, number>();
  for (const w of input.windows) windowEnds.set(w.windowStart, Math.max(windowEnds.get(w.windowStart) ?? 0, w.windowStart + w.windowMs));
  const ctx: Context = {
    input,
    tickMs,
    windowEnds,
    firstCanaryAt: firstCanaryWindow(input.release, input.windows),
  };

  const steps: ReplayStepReport[] = [];
  let stopped: ReplayStepReport | null = null;
  let previous: { real: RealStep; replay: ReplayedStep } | null = null;
  for (const real of input.timeline) {
    const step = input.release.steps[real.stepIndex];
    if (!step) continue;
    const replay: ReplayedStep = stopped
      ? {
          outcome: 'not-reached',
          at: null,
          reason: `the replayed release had already ${stopped.replay.outcome === 'fail' ? 'failed' : 'paused'} at step ${stopped.stepIndex + 1}`,
          action: null,
          verdict: null,
          looks: 0,
        }
      : replayStep(ctx, real);
    const report: ReplayStepReport = {
      stepIndex: real.stepIndex,
      weight: real.weight,
      holdMs: step.holdMs,
      analysis: step.analysis,
      real,
      replay,
      note: previous ? stepNote(previous, real) : null,
    };
    steps.push(report);
    if (!stopped && (replay.outcome === 'fail' || replay.outcome === 'pause')) stopped = report;
    previous = { real, replay };
  }
  const reached = new Set(input.timeline.map((r) => r.stepIndex));
  input.release.steps.forEach((step, stepIndex) => {
    if (reached.has(stepIndex)) return;
    const reason = stopped
      ? `the replayed release had already stopped at step ${stopped.stepIndex + 1}`
      : 'the release never really reached this step, so there is no evidence for it';
    steps.push({
      stepIndex,
      weight: step.weight,
      holdMs: step.holdMs,
      analysis: step.analysis,
      real: null,
      replay: { outcome: stopped ? 'not-reached' : 'no-evidence', at: null, reason, action: null, verdict: null, looks: 0 },
      note: null,
    });
  });
  steps.sort((a, b) => a.stepIndex - b.stepIndex || (a.real?.startedAt ?? 0) - (b.real?.startedAt ?? 0));
  const outcome = overall(input, steps, stopped);
  return {
    releaseId: input.release.id,
    analysis: input.analysis,
    outcome,
    real: { status: input.release.status, endedAt: input.release.endedAt, reason: input.release.reason },
    summary: summary(input, outcome, steps),
    steps,
    looks: steps.reduce((n, s) => n + s.replay.looks, 0),
  };
}

/** Judges one real step tick by tick until the replayed controller decides or the evidence ends. */
function replayStep(ctx: Context, real: RealStep): ReplayedStep {
  const { input, tickMs } = ctx;
  const step = input.release.steps[real.stepIndex]!;
  const startedAt = real.startedAt;
  const end = Math.max(startedAt, real.endedAt ?? input.now);
  const release: Release = {
    ...input.release,
    analysis: input.analysis,
    status: 'progressing',
    stepIndex: real.stepIndex,
    weight: real.weight,
    // The real step's start is already its applied time (the timeline reads `release.applied`).
    stepStartedAt: startedAt,
    stepAppliedAt: startedAt,
  };
  const evidence = stepEvidence(release, input.windows);
  const acc = new EvidenceAccumulator({
    intervalMs: input.analysis.intervalMs,
    origin: startedAt,
    warmupMs: input.analysis.warmupMs,
    firstCanaryAt: ctx.firstCanaryAt,
  });
  let next = 0;
  let last: JudgeResult | null = null;
  let looks = 0;
  for (let t = startedAt + tickMs; ; t += tickMs) {
    const now = Math.min(t, end);
    next = addSeen(ctx, acc, evidence, next, now, now >= end);
    const verdict = step.analysis ? judge(input.analysis, acc.snapshot(), { stepStartedAt: startedAt, now, holdMs: step.holdMs }) : null;
    if (verdict) {
      looks++;
      last = verdict;
    }
    const summaryOf = verdict && {
      outcome: verdict.outcome,
      judge: verdict.judge,
      sufficient: verdict.sufficient,
      summary: summarize(verdict),
    };
    const decided = outcomeOf(decide(release, summaryOf, now, input.decide), now, verdict, looks);
    if (decided) return decided;
    if (now >= end) break;
  }
  const why = last ? `${last.outcome}: ${summarize(last)}` : 'no verdict';
  const until = real.endedAt === null ? 'the evidence so far' : `the real step ended (${real.outcome})`;
  return { outcome: 'undecided', at: null, reason: `no decision before ${until}; last verdict ${why}`, action: null, verdict: last, looks };
}

/**
 * Adds the windows the controller had seen by `now`, returning the next index: a window once it
 * has ended (gateways push closed windows), and at a step's real end every window begun before
 * it — the controller may have acted on one pushed early, and nothing after the end is this step's.
 */
function addSeen(
  ctx: Context,
  acc: EvidenceAccumulator,
  evidence: readonly EvidenceWindow[],
  from: number,
  now: number,
  final: boolean,
): number {
  let i = from;
  const seen = (w: EvidenceWindow) => (final ? w.start < now : (ctx.windowEnds.get(w.start) ?? w.start) <= now);
  while (i < evidence.length && seen(evidence[i]!)) acc.add(evidence[i++]!);
  return i;
}

function outcomeOf(decision: Decision, at: number, verdict: JudgeResult | null, looks: number): ReplayedStep | null {
  switch (decision.kind) {
    case 'hold':
      return null;
    case 'fail':
      return { outcome: 'fail', at, reason: decision.reason, action: decision.action, verdict, looks };
    case 'pause':
      return { outcome: 'pause', at, reason: decision.reason, action: null, verdict, looks };
    case 'advance':
    case 'promote':
      return { outcome: 'pass', at, reason: decision.reason, action: null, verdict, looks };
    default: {
      const never: never = decision;
      throw new Error(`unknown decision ${JSON.stringify(never)}`);
    }
  }
}

/** Says that a step's evidence follows the real step change, and when the replay would have moved. */
function stepNote(previous: { real: RealStep; replay: ReplayedStep }, real: RealStep): string {
  const at = new Date(real.startedAt).toISOString();
  const moved =
    previous.replay.outcome === 'pass' && previous.replay.at !== null && previous.replay.at !== real.startedAt
      ? ` (the replay would have moved on at ${new Date(previous.replay.at).toISOString()}, ${seconds(previous.replay.at - real.startedAt)} ${previous.replay.at < real.startedAt ? 'earlier' : 'later'})`
      : '';
  return `after the real step change at ${at}${moved}, evidence comes from the real weight ${real.weight / 100}%`;
}

function overall(input: ReplayInput, steps: readonly ReplayStepReport[], stopped: ReplayStepReport | null): ReplayReport['outcome'] {
  if (stopped)
    return {
      kind: stopped.replay.outcome === 'fail' ? 'fail' : 'pause',
      at: stopped.replay.at,
      stepIndex: stopped.stepIndex,
      reason: stopped.replay.reason,
    };
  const lastIndex = input.release.steps.length - 1;
  const final = steps.find((s) => s.stepIndex === lastIndex && s.real !== null);
  // Promoted only when every step it went through passed: an undecided step would have held it there.
  if (final?.replay.outcome === 'pass' && steps.every((s) => s.real === null || s.replay.outcome === 'pass'))
    return { kind: 'promote', at: final.replay.at, stepIndex: lastIndex, reason: final.replay.reason };
  const judged = steps.filter((s) => s.real !== null);
  const lastJudged = judged[judged.length - 1];
  return {
    kind: 'no-failure',
    at: null,
    stepIndex: lastJudged?.stepIndex ?? null,
    reason: lastJudged
      ? `no failure in the evidence there is (it ends at step ${lastJudged.stepIndex + 1})`
      : 'the release never started, so there is no evidence',
  };
}

const REAL_WORDS: Readonly<Record<Release['status'], string>> = {
  pending: 'is still pending',
  progressing: 'is still progressing',
  paused: 'was paused',
  promoting: 'was promoted',
  promoted: 'was promoted',
  rolling_back: 'was rolled back',
  rolled_back: 'was rolled back',
  failed: 'failed',
};

function summary(input: ReplayInput, outcome: ReplayReport['outcome'], steps: readonly ReplayStepReport[]): string {
  const { release } = input;
  const realEnd = input.timeline[input.timeline.length - 1]?.endedAt ?? release.endedAt;
  const real = `really it ${REAL_WORDS[release.status]}${realEnd === null ? '' : ` ${seconds(realEnd - release.startedAt)} after it started`}`;
  const stepLabel = outcome.stepIndex === null ? '' : ` at step ${outcome.stepIndex + 1}`;
  const after = outcome.at === null ? '' : ` ${seconds(outcome.at - release.startedAt)} after the release started`;
  switch (outcome.kind) {
    case 'fail':
      return `Would have ${input.analysis.onFailure === 'pause' ? 'paused on a failure' : 'rolled back'}${stepLabel}${after}; ${real}.`;
    case 'pause':
      return `Would have paused undecided${stepLabel}${after}; ${real}.`;
    case 'promote':
      return `Would have promoted${after}; ${real}.`;
    case 'no-failure': {
      const list = (kind: ReplayOutcome) => steps.filter((s) => s.replay.outcome === kind).map((s) => s.stepIndex + 1);
      const [passed, undecided, missing] = [list('pass'), list('undecided'), list('no-evidence')];
      const parts = [
        passed.length ? `${plural('step', passed)} passed` : '',
        undecided.length ? `${plural('step', undecided)} stayed undecided (the controller would have held there longer)` : '',
      ].filter(Boolean);
      const none = missing.length ? `; ${plural('step', missing)} never really ran, so there is no evidence for them` : '';
      return `Would not have failed on the evidence there is${parts.length ? `: ${parts.join(', ')}` : ''}; ${real}${none}.`;
    }
    default: {
      const never: never = outcome.kind;
      throw new Error(`unknown outcome ${String(never)}`);
    }
  }
}

function plural(word: string, items: readonly number[]): string {
  return `${word}${items.length > 1 ? 's' : ''} ${items.join(', ')}`;
}

function seconds(ms: number): string {
  return `${Math.round(Math.abs(ms) / 100) / 10} s`;
}
