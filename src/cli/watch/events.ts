/**
 * Line-per-event output for pipelines: what changed between two snapshots (status, step,
 * weight, a new verdict outcome), as one readable line each, or one JSON object per line with
 * `--output json`. Pure: snapshots and a time in, events and text out.
 */
import { isGateHoldText } from '../../core/gate-hold.js';
import { formatPercent, formatTime } from '../output.js';
import type { CheckView, ReleaseView, VerdictView } from '../views.js';
import type { Snapshot } from './follow.js';

export interface CheckSummary {
  readonly check: string;
  readonly outcome: string;
  readonly statistic: number | null;
  readonly bound: number | null;
  /** The judge's sentence: what it saw and what is missing. */
  readonly detail: string;
}

/** One line of output. JSON lines carry these fields plus `at` and `releaseId`. */
export type WatchEvent =
  | { readonly event: 'started' | 'watching'; readonly release: ReleaseView }
  | {
      readonly event: 'release';
      readonly status: string;
      /** 1-based. */
      readonly step: number;
      readonly steps: number;
      /** Percent. */
      readonly weight: number;
      readonly reason: string | null;
      /** `reason` alone: a gate began holding the release, or its answer changed (`held by gate …`). */
      readonly changed: ReadonlyArray<'status' | 'step' | 'weight' | 'reason'>;
    }
  | {
      readonly event: 'verdict';
      /** When the judge gave it (ISO): an old verdict keeps its own time, never the time it was read. */
      readonly at: string;
      readonly judge: string;
      readonly outcome: string;
      /** 1-based step the verdict judged. */
      readonly step: number;
      readonly checks: readonly CheckSummary[];
    }
  | {
      readonly event: 'outcome';
      readonly outcome: string;
      readonly exitCode: number;
      readonly message: string;
      readonly by: string | null;
      readonly reason: string | null;
      /** Null only when the watch stopped before the release could be read. */
      readonly release: ReleaseView | null;
    };

/**
 * The events between `prev` and `next` (null `prev`: the first snapshot, which announces the
 * release as `first` and its latest verdict, if any).
 */
export function changesBetween(prev: Snapshot | null, next: Snapshot, first: 'started' | 'watching' = 'watching'): WatchEvent[] {
  const r = next.release;
  const events: WatchEvent[] = [];
  if (!prev) events.push({ event: first, release: r });
  // A new verdict comes before the move it caused (the judge's fail, then the rollback).
  const v = next.verdict;
  const pv = prev?.verdict ?? null;
  if (v && (!pv || pv.outcome !== v.outcome || pv.stepIndex !== v.stepIndex)) {
    events.push({ event: 'verdict', at: v.at, judge: v.judge, outcome: v.outcome, step: v.stepIndex + 1, checks: checksOf(v) });
  }
  if (prev) {
    const p = prev.release;
    const changed: Array<'status' | 'step' | 'weight' | 'reason'> = [
      ...(p.status !== r.status ? (['status'] as const) : []),
      ...(p.stepIndex !== r.stepIndex ? (['step'] as const) : []),
      ...(p.weight !== r.weight ? (['weight'] as const) : []),
    ];
    if (changed.length === 0 && r.reason !== p.reason && isGateHoldText(r.reason)) changed.push('reason');
    if (changed.length > 0) {
      const reason = r.reason !== p.reason ? r.reason : null;
      events.push({
        event: 'release',
        status: r.status,
        step: stepNumber(r),
        steps: r.steps?.length ?? 0,
        weight: r.weight,
        reason,
        changed,
      });
    }
  }
  return events;
}

/**
 * The event as one line a person reads in a CI log; `at` (now) prefixes changes as `12:00:05Z`,
 * a verdict its own time. A release that had already ended is announced with its end.
 */
export function eventText(e: WatchEvent, at: number): string {
  const when = e.event === 'verdict' && Number.isFinite(Date.parse(e.at)) ? Date.parse(e.at) : at;
  const time = `${new Date(when).toISOString().slice(11, 19)}Z`;
  switch (e.event) {
    case 'started':
    case 'watching': {
      const r = e.release;
      const replacing = r.baseline ? ` replacing ${r.baseline.version}` : '';
      if (r.endedAt)
        return `Release ${r.id} (${r.service} ${r.version}${replacing}) had already ended at ${formatTime(r.endedAt)}: ${r.status}, ${stepText(stepNumber(r), r.steps?.length ?? 0, r.weight)}`;
      return `${e.event === 'started' ? 'Started' : 'Watching'} release ${r.id}: ${r.service} ${r.version}${replacing}, ${r.status}, ${stepText(stepNumber(r), r.steps?.length ?? 0, r.weight)}${holdText(r)}`;
    }
    case 'release':
      return `${time} ${e.status}, ${stepText(e.step, e.steps, e.weight)}${e.reason ? ` (${e.reason})` : ''}`;
    case 'verdict':
      return `${time} verdict ${e.outcome} (${e.judge} judge, step ${e.step}): ${e.checks.map(checkText).join('; ') || 'no checks'}`;
    case 'outcome':
      return e.message;
    default: {
      const never: never = e;
      throw new Error(`unknown watch event ${JSON.stringify(never)}`);
    }
  }
}

/** The event as one JSON line: `{"at":…,"releaseId":…,"event":…,…}` (a verdict's `at` is the judge's time). */
export function eventJson(e: WatchEvent, at: number, releaseId: string): string {
  return JSON.stringify({ at: new Date(at).toISOString(), releaseId, ...e });
}

/**
 * `error-rate fail: canary 4.7% (14/297) vs stable 0.67% (18/2696); …` — the judge's own
 * sentence; the bare numbers (`20.1 vs 1.5`) only when an older server sent none.
 */
export function checkText(c: CheckSummary): string {
  return `${c.check} ${c.outcome}: ${c.detail || `${num(c.statistic)} vs ${num(c.bound)}`}`;
}

/** The checks of a verdict, read defensively (the API does not type them). */
export function checksOf(v: VerdictView): CheckSummary[] {
  return v.checks.flatMap((raw) => {
    const c = raw as Partial<CheckView> | null;
    if (!c || typeof c.check !== 'string') return [];
    return [
      {
        check: c.check,
        outcome: typeof c.outcome === 'string' ? c.outcome : '?',
        statistic: typeof c.statistic === 'number' ? c.statistic : null,
        bound: typeof c.bound === 'number' ? c.bound : null,
        detail: typeof c.detail === 'string' ? c.detail : '',
      },
    ];
  });
}

/** A number shortened to 4 significant digits; `-` for none. */
export function num(n: number | null): string {
  return n === null ? '-' : String(Number(n.toPrecision(4)));
}

/**
 * 1-based step, clamped to the plan. A promoted release is at its last step (100%) even when
 * `promote --full` skipped there: the API keeps the step it was promoted from in `stepIndex`.
 */
export function stepNumber(r: ReleaseView): number {
  const steps = r.steps?.length ?? 0;
  if (r.status === 'promoted' && steps) return steps;
  return steps ? Math.min(r.stepIndex + 1, steps) : r.stepIndex + 1;
}

function stepText(step: number, steps: number, weight: number): string {
  return `step ${step}/${steps || '?'}, weight ${formatPercent(weight)}`;
}

function holdText(r: ReleaseView): string {
  const step = r.steps?.[r.stepIndex];
  const gate = isGateHoldText(r.reason) ? `; ${r.reason}` : '';
  return `${step?.hold ? `, hold ${step.hold}` : ''}${gate}`;
}
