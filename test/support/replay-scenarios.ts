/**
 * Real release histories for the replay tests and benchmark: the real controller over a SQLite
 * store with a fake clock, fed simulated gateway windows each second at the release's weight.
 */
import { type ArmSpec, seededRandom, simulateSecond } from '../../src/analysis/simulate.js';
import { startController } from '../../src/control/runner.js';
import { type AnalysisInput, compileAnalysis, compilePlan } from '../../src/core/plan.js';
import type { MetricWindow, Release } from '../../src/core/types.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';

export const HEALTHY: ArmSpec = { errorRate: 0.005, medianMs: 20, sigma: 0.4 };
const who = {
  actor: 'token:ci',
  source: '127.0.0.1',
  action: 'release.start',
  target: 'release/rel-1',
  outcome: 'success' as const,
  reason: null,
  detail: null,
};
export const T0 = 1_700_000_000_000;

export interface Scenario {
  readonly plan: string;
  readonly analysis: AnalysisInput;
  readonly canary: ArmSpec;
  readonly seed: number;
  readonly rps?: number;
  /** Longest run, in seconds. */
  readonly seconds?: number;
}

export interface RealRun {
  readonly store: Store;
  readonly release: Release;
  /** The fake clock's time when the run stopped. */
  readonly now: number;
}

/** Runs a release to its end (or `seconds`) with the real controller; the store is left open. */
export async function runRealRelease(s: Scenario, file = ':memory:'): Promise<RealRun> {
  let now = T0;
  const store = await openSqliteStore({ file, clock: () => now });
  await store.createService(
    {
      name: 'checkout',
      match: { pathPrefix: '/' },
      stickiness: { cookie: 'tern_uid' },
      stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
      rules: [],
    },
    { ...who, action: 'service.create', target: 'service/checkout' },
  );
  await store.createRelease(
    {
      id: 'rel-1',
      service: 'checkout',
      version: 'v2',
      endpoints: ['http://127.0.0.1:9002'],
      status: 'pending',
      stepIndex: 0,
      weight: 0,
      salt: 'salt',
      steps: compilePlan(s.plan),
      analysis: compileAnalysis(s.analysis),
      metadata: {},
      createdBy: 'token:ci',
      startedAt: now,
    },
    { ...who, detail: { status: 'pending' } },
  );
  const controller = startController({ store, clock: () => now, tickMs: 0, holder: 'replay-test' });
  const rand = seededRandom(s.seed);
  try {
    await controller.tick();
    let release = (await store.getRelease('rel-1'))!;
    for (let t = 0; t < (s.seconds ?? 600) && release.endedAt === null && release.status !== 'paused'; t++) {
      const start = Math.floor(now / 1000) * 1000;
      const sec = simulateSecond(rand, s.rps ?? 1000, release.weight / 10_000, HEALTHY, s.canary);
      const windows: MetricWindow[] = [
        { releaseId: 'rel-1', version: 'v1', windowStart: start, windowMs: 1000, ...sec.stable, feedbackSum: 0, feedbackCount: 0 },
        { releaseId: 'rel-1', version: 'v2', windowStart: start, windowMs: 1000, ...sec.canary, feedbackSum: 0, feedbackCount: 0 },
      ];
      await store.appendMetricWindows('gateway-1', windows);
      now += 1000;
      await controller.tick();
      release = (await store.getRelease('rel-1'))!;
    }
    return { store, release, now };
  } finally {
    await controller.stop();
  }
}
