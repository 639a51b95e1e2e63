/**
 * The release runner: once a tick, drives every active release one move along its plan —
 * starts pending releases, judges progressing ones on their step's evidence, advances,
 * promotes, fails — by writing through the store. All state (status, step, step start) lives
 * in the store, so a controller killed and restarted continues each release at the same step
 * with the remaining hold; every move is a compare-and-set inside the store's transaction,
 * so two controllers (or a controller and a person) can never double-advance a release.
 */
import type { Logger } from 'pino';
import { EvidenceAccumulator } from '../analysis/accumulator.js';
import { judge } from '../analysis/judge.js';
import type { JudgeResult } from '../analysis/verdict.js';
import { ConflictError } from '../core/errors.js';
import { transition } from '../core/release-state.js';
import { systemClock, type AuditInput, type Clock, type Release } from '../core/types.js';
import type { Store } from '../store/store.js';
import { decide, type DecideOptions, type Decision } from './decide.js';
import { stepEvidence } from './evidence.js';

export interface ControllerOptions {
  readonly store: Store;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** How often releases are looked at. Default 1 s. */
  readonly tickMs?: number;
  /** This controller's name for the leader lease (several controllers may share a database). */
  readonly holder?: string;
  readonly decide?: DecideOptions;
}

export interface Controller {
  /** Runs one pass over the active releases (tests call it with a fake clock). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/** A guard failed inside the transaction: someone else moved the release first. */
class StaleRelease extends Error {}

const LEASE = 'release-controller';
/**
 * Windows older than this are final (every gateway has pushed its share) and are folded into
 * the step's cached aggregates once; newer ones are re-read and judged on a copy each tick.
 */
const SETTLE_MS = 5000;

interface StepCache {
  readonly key: string;
  readonly acc: EvidenceAccumulator;
}

/** Starts the loop (unless `tickMs` is 0) and returns the handle. */
export function startController(options: ControllerOptions): Controller {
  const clock = options.clock ?? systemClock;
  const tickMs = options.tickMs ?? 1000;
  const holder = options.holder ?? `controller-${process.pid}`;
  const lastRecorded = new Map<string, { outcome: string; at: number; step: number }>();
  const caches = new Map<string, StepCache>();
  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;

  const audit = (release: Release, action: string, reason: string, detail: Record<string, unknown> | null = null): AuditInput => ({
    actor: 'system',
    source: null,
    action,
    target: `release/${release.id}`,
    service: release.service,
    outcome: 'success',
    reason,
    detail,
  });

  /** Applies `change` only if the release is still where we saw it; returns false when it moved on. */
  async function move(seen: Release, action: string, reason: string, change: (r: Release) => Release, detail: Record<string, unknown> | null = null): Promise<boolean> {
    try {
      await options.store.updateRelease(
        seen.id,
        (current) => {
          if (current.status !== seen.status || current.stepIndex !== seen.stepIndex) throw new StaleRelease();
          return change(current);
        },
        audit(seen, action, reason, detail),
      );
      options.logger?.info({ release: seen.id, service: seen.service, action, reason }, 'release moved');
      return true;
    } catch (err) {
      if (err instanceof StaleRelease || (err instanceof ConflictError && err.code === 'TERN_ILLEGAL_TRANSITION')) return false;
      throw err;
    }
  }

  async function judgeStep(release: Release, now: number): Promise<JudgeResult | null> {
    const step = release.steps[release.stepIndex];
    if (!step?.analysis) return null;
    const acc = await stepAggregates(release, now);
    const result = judge(release.analysis, acc.snapshot(), { stepStartedAt: release.stepStartedAt, now, holdMs: step.holdMs });
    await recordResult(release, result, now);
    return result;
  }

  /** The step's aggregates: cached settled windows plus, on a copy, the ones that may still grow. */
  async function stepAggregates(release: Release, now: number): Promise<EvidenceAccumulator> {
    const key = `${release.stepIndex}@${release.stepStartedAt}`;
    let cache = caches.get(release.id);
    if (cache?.key !== key) caches.set(release.id, (cache = { key, acc: new EvidenceAccumulator(release.analysis.intervalMs, release.stepStartedAt) }));
    const since = cache.acc.lastWindow === null ? release.stepStartedAt : cache.acc.lastWindow + 1;
    const fresh = stepEvidence(release, await options.store.listMetricWindows(release.id, { since }));
    const settled = fresh.filter((w) => w.start <= now - SETTLE_MS);
    for (const w of settled) cache.acc.add(w);
    if (settled.length === fresh.length) return cache.acc;
    const current = cache.acc.clone();
    for (const w of fresh.slice(settled.length)) current.add(w);
    return current;
  }

  /** Stores a verdict when its outcome changes, and at most every 10 s otherwise; keeps alerts in step. */
  async function recordResult(release: Release, result: JudgeResult, now: number): Promise<void> {
    const last = lastRecorded.get(release.id);
    if (last && last.outcome === result.outcome && last.step === release.stepIndex && now - last.at < 10_000 && result.outcome !== 'fail') return;
    lastRecorded.set(release.id, { outcome: result.outcome, at: now, step: release.stepIndex });
    await options.store.recordVerdict({
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
        await options.store.raiseAlert({ releaseId: release.id, metric: check.check, threshold: check.bound ?? 0, observed: check.statistic ?? 0, at: now });
      } else {
        await options.store.resolveAlert(release.id, check.check, now);
      }
    }
  }

  async function apply(release: Release, decision: Decision, now: number, verdict: JudgeResult | null): Promise<void> {
    const detail = verdict ? { judge: verdict.judge, outcome: verdict.outcome, checks: verdict.checks } : null;
    switch (decision.kind) {
      case 'hold':
        return;
      case 'advance': {
        const step = release.steps[decision.toStep]!;
        await move(release, 'release.advance', decision.reason, (r) => ({ ...r, stepIndex: decision.toStep, weight: step.weight, updatedAt: now, reason: decision.reason }), detail);
        return;
      }
      case 'promote':
        await move(release, 'release.promote', decision.reason, (r) => transition(r, 'promoting', now, decision.reason), detail);
        return;
      case 'fail':
        if (decision.action === 'rollback') await move(release, 'release.rollback', decision.reason, (r) => transition(r, 'rolling_back', now, decision.reason), detail);
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

  async function drive(release: Release, now: number): Promise<void> {
    switch (release.status) {
      case 'pending':
        // Static endpoints are ready as given; deploy drivers will gate this on readiness.
        if (release.endpoints.length === 0) return;
        await move(release, 'release.start', 'canary endpoints registered', (r) => ({
          ...transition(r, 'progressing', now, null),
          stepIndex: 0,
          weight: r.steps[0]!.weight,
          stepStartedAt: now,
        }));
        return;
      case 'progressing': {
        const verdict = await judgeStep(release, now);
        const summary = verdict ? { outcome: verdict.outcome, judge: verdict.judge, summary: summarize(verdict) } : null;
        await apply(release, decide(release, summary, now, options.decide), now, verdict);
        return;
      }
      case 'promoting':
        await move(release, 'release.promoted', 'canary is now stable', (r) => transition(r, 'promoted', now, null));
        return;
      case 'rolling_back':
        await move(release, 'release.rolled_back', release.reason ?? 'rolled back', (r) => transition(r, 'rolled_back', now, null));
        return;
      default:
        return;
    }
  }

  async function tick(): Promise<void> {
    const now = clock();
    if (!(await options.store.acquireLease(LEASE, holder, Math.max(3 * tickMs, 3000)))) return;
    const releases = await options.store.listReleases({ active: true, limit: 1000 });
    for (const release of releases) {
      try {
        await drive(release, now);
      } catch (err) {
        options.logger?.error({ err, release: release.id }, 'release step failed; retrying next tick');
      }
    }
    for (const map of [lastRecorded, caches]) for (const id of map.keys()) if (!releases.some((r) => r.id === id)) map.delete(id);
  }

  const loop = (): void => {
    running = tick()
      .catch((err: unknown) => options.logger?.error({ err }, 'controller tick failed'))
      .finally(() => {
        running = null;
        if (timer) timer = setTimeout(loop, tickMs);
      });
  };
  if (tickMs > 0) timer = setTimeout(loop, 0);

  return {
    tick,
    async stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
      await options.store.releaseLease(LEASE, holder).catch(() => undefined);
    },
  };
}

/** The failing checks' sentences, or the undecided ones', for reasons and audit. */
function summarize(result: JudgeResult): string {
  const pick = result.checks.filter((c) => c.outcome === result.outcome);
  return (pick.length ? pick : result.checks).map((c) => `${c.check}: ${c.detail}`).join('; ');
}
