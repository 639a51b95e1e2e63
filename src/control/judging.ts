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
import { holdStart } from '../core/data-plane.js';
import type { Store } from '../store/store.js';
import { withCustomChecks, type CustomChecks } from './custom-checks.js';
import { stepEvidence } from './evidence.js';
import { firstCanaryWindow } from './warmup.js';

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

/** Where a release's evidence comes from: the sources it is judged from and their latency resolution. */
export interface EvidenceSources {
  /** The window sources to read; undefined = every source. */
  sourcesOf(release: Release): readonly string[] | undefined;
  /** The latency histogram's bucket bounds (ms), when the source is bucketed (Prometheus `le`). */
  latencyBounds(release: Release): readonly number[] | undefined;
}

/**
 * Creates the judging state over `store`; `sources` picks each release's windows (default: all),
 * `custom` reads the releases' custom checks (analysis.checks).
 */
export function createJudging(store: Store, sources?: EvidenceSources, custom?: CustomChecks): Judging {
  const read = (release: Release, options: { since?: number }) => {
    const only = sources?.sourcesOf(release);
    return store.listMetricWindows(release.id, only === undefined ? options : { ...options, sources: only });
  };
  const lastRecorded = new Map<string, { outcome: string; at: number; step: number }>();
  const caches = new Map<string, StepCache>();
  /** Per release: its canary's first window (warm-up start) once seen, and how far the search has read. */
  const warmups = new Map<string, { first: number | null; readTo: number | null }>();

  /** The start of the canary's first window in this release (read once, then kept); null before it served anything. */
  async function canaryFirstSeen(release: Release): Promise<number | null> {
    const known = warmups.get(release.id) ?? { first: null, readTo: null };
    if (known.first !== null) return known.first;
    const windows = await read(release, known.readTo === null ? {} : { since: known.readTo + 1 });
    const first = firstCanaryWindow(release, windows);
    const readTo = windows.reduce<number | null>((m, w) => (m === null || w.windowStart > m ? w.windowStart : m), known.readTo);
    // A window may still grow for a few seconds, so an empty canary window is read again until it settles.
    warmups.set(release.id, { first, readTo: readTo === null ? null : readTo - SETTLE_MS });
    return first;
  }

  /** The step's aggregates: cached settled windows plus, on a copy, the ones that may still grow. */
  async function stepAggregates(release: Release, now: number): Promise<EvidenceAccumulator> {
    // Evidence of a step starts when its weight was applied, not when it was written.
    const origin = holdStart(release);
    const key = `${release.stepIndex}@${origin}`;
    let cache = caches.get(release.id);
    if (cache?.key !== key) {
      // Known, or read from the store once: a controller that took over mid-release finds it too.
      const firstCanaryAt = await canaryFirstSeen(release);
      const acc = new EvidenceAccumulator({
        intervalMs: release.analysis.intervalMs,
        origin,
        warmupMs: release.analysis.warmupMs,
        firstCanaryAt,
      });
      caches.set(release.id, (cache = { key, acc }));
    }
    const since = cache.acc.lastWindow === null ? origin : cache.acc.lastWindow + 1;
    const fresh = stepEvidence(release, await read(release, { since }));
    const settled = fresh.filter((w) => w.start <= now - SETTLE_MS);
    for (const w of settled) cache.acc.add(w);
    // Seen in this step's windows: no store read is needed for it again.
    if (cache.acc.firstCanaryAt !== null) warmups.set(release.id, { first: cache.acc.firstCanaryAt, readTo: null });
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
      const latencyBounds = sources?.latencyBounds(release);
      const builtIn = judge(release.analysis, acc.snapshot(), {
        stepStartedAt: holdStart(release),
        now,
        holdMs: step.holdMs,
        ...(latencyBounds === undefined ? {} : { latencyBounds }),
      });
      const result = custom ? withCustomChecks(builtIn, await custom.judge(release, now)) : builtIn;
      await recordResult(release, result, now);
      return result;
    },
    prune(keep) {
      for (const map of [lastRecorded, caches, warmups]) for (const id of map.keys()) if (!keep.has(id)) map.delete(id);
      custom?.prune(keep);
    },
  };
}

/** The failing checks' sentences, or the undecided ones', for reasons and audit. */
export function summarize(result: JudgeResult): string {
  const pick = result.checks.filter((c) => c.outcome === result.outcome);
  return (pick.length ? pick : result.checks).map((c) => `${c.check}: ${c.detail}`).join('; ');
}
