/**
 * Judging a progressing step: the step's evidence (settled metric windows folded once into a
 * cached accumulator, fresh ones judged on a copy), the judge's result, and what is kept of
 * it — a verdict row when its outcome changes (at most every 10 s otherwise) and alerts raised
 * or resolved per check.
 */
import { EvidenceAccumulator } from '../analysis/accumulator.js';
import { judge } from '../analysis/judge.js';
import type { JudgeResult } from '../analysis/verdict.js';
import type { Release } from '../core/types.js';
import type { Store } from '../store/store.js';
import { stepEvidence } from './evidence.js';

/**
 * Windows older than this are final (every gateway has pushed its share) and are folded into
 * the step's cached aggregates once; newer ones are re-read and judged on a copy each tick.
 */
const SETTLE_MS = 5000;

export interface Judging {
  /** Judges the release's current step; null when the step has no analysis. */
  judgeStep(release: Release, now: number): Promise<JudgeResult | null>;
  /** Forgets cached state of releases not in `keep`. */
  prune(keep: ReadonlySet<string>): void;
}

interface StepCache {
  readonly key: string;
  readonly acc: EvidenceAccumulator;
}

/** Creates the judging state over `store`. */
export function createJudging(store: Store): Judging {
  const lastRecorded = new Map<string, { outcome: string; at: number; step: number }>();
  const caches = new Map<string, StepCache>();
  /** When each release's canary first had traffic: its latency warm-up counts from then. */
  const firstCanary = new Map<string, number>();

  /** The step's aggregates: cached settled windows plus, on a copy, the ones that may still grow. */
  async function stepAggregates(release: Release, now: number): Promise<EvidenceAccumulator> {
    const key = `${release.stepIndex}@${release.stepStartedAt}`;
    let cache = caches.get(release.id);
    if (cache?.key !== key) {
      const known = firstCanary.get(release.id);
      // After a controller restart mid-release the first canary traffic is not known: counting the
      // warm-up from the release's start errs towards comparing (never towards hiding a regression).
      const firstCanaryAt = known ?? (release.stepIndex === 0 ? null : release.startedAt);
      const acc = new EvidenceAccumulator({
        intervalMs: release.analysis.intervalMs,
        origin: release.stepStartedAt,
        warmupMs: release.analysis.warmupMs,
        firstCanaryAt,
      });
      caches.set(release.id, (cache = { key, acc }));
    }
    const since = cache.acc.lastWindow === null ? release.stepStartedAt : cache.acc.lastWindow + 1;
    const fresh = stepEvidence(release, await store.listMetricWindows(release.id, { since }));
    const settled = fresh.filter((w) => w.start <= now - SETTLE_MS);
    for (const w of settled) cache.acc.add(w);
    if (cache.acc.firstCanaryAt !== null) firstCanary.set(release.id, cache.acc.firstCanaryAt);
    if (settled.length === fresh.length) return cache.acc;
    const current = cache.acc.clone();
    for (const w of fresh.slice(settled.length)) current.add(w);
    return current;
  }

  /** Stores a verdict when its outcome changes, and at most every 10 s otherwise; keeps alerts in step. */
  async function recordResult(release: Release, result: JudgeResult, now: number): Promise<void> {
    const last = lastRecorded.get(release.id);
    if (last && last.outcome === result.outcome && last.step === release.stepIndex && now - last.at < 10_000 && result.outcome !== 'fail')
      return;
    lastRecorded.set(release.id, { outcome: result.outcome, at: now, step: release.stepIndex });
    await store.recordVerdict({
      releaseId: release.id,
      stepIndex: release.stepIndex,
      judge: result.judge,
      outcome: result.outcome,
      checks: result.checks,
      windowFrom: result.windowFrom,
      windowTo: result.windowTo,
      at: now,
    });
    for (const check of result.checks) {
      if (check.outcome === 'fail') {
        await store.raiseAlert({
          releaseId: release.id,
          metric: check.check,
          threshold: check.bound ?? 0,
          observed: check.statistic ?? 0,
          at: now,
        });
      } else {
        await store.resolveAlert(release.id, check.check, now);
      }
    }
  }

  return {
    async judgeStep(release, now) {
      const step = release.steps[release.stepIndex];
      if (!step?.analysis) return null;
      const acc = await stepAggregates(release, now);
      const result = judge(release.analysis, acc.snapshot(), { stepStartedAt: release.stepStartedAt, now, holdMs: step.holdMs });
      await recordResult(release, result, now);
      return result;
    },
    prune(keep) {
      for (const map of [lastRecorded, caches, firstCanary]) for (const id of map.keys()) if (!keep.has(id)) map.delete(id);
    },
  };
}

/** The failing checks' sentences, or the undecided ones', for reasons and audit. */
export function summarize(result: JudgeResult): string {
  const pick = result.checks.filter((c) => c.outcome === result.outcome);
  return (pick.length ? pick : result.checks).map((c) => `${c.check}: ${c.detail}`).join('; ');
}
