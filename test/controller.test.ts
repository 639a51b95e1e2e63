/**
 * The release runner over a real SQLite store with a fake clock: simulated gateway metric
 * windows go in, and the release must advance, promote, roll back or pause as a user expects,
 * with its evidence stored and every move audited by `system`.
 */
import { after, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileAnalysis, compilePlan } from '../src/core/plan.js';
import type { MetricWindow, Release } from '../src/core/types.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { Registry } from 'prom-client';
import { createControllerMetrics } from '../src/control/metrics.js';
import { startController, type Controller } from '../src/control/runner.js';
import { seededRandom, simulateSecond, type ArmSpec } from '../src/analysis/simulate.js';

const HEALTHY: ArmSpec = { errorRate: 0.005, medianMs: 20, sigma: 0.4 };
const who = {
  actor: 'token:ci',
  source: '127.0.0.1',
  action: 'test',
  target: 'test',
  outcome: 'success' as const,
  reason: null,
  detail: null,
};

let now = 1_700_000_000_000;
let store: Store;
const controllers: Controller[] = [];
after(async () => {
  for (const c of controllers) await c.stop();
});

async function setup(plan: string, analysis = {}): Promise<Release> {
  now = 1_700_000_000_000;
  store = await openSqliteStore({ file: ':memory:', clock: () => now });
  await store.createService(
    {
      name: 'checkout',
      match: { pathPrefix: '/' },
      stickiness: { cookie: 'tern_uid' },
      stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
      rules: [],
    },
    who,
  );
  return store.createRelease(
    {
      id: 'rel-1',
      service: 'checkout',
      version: 'v2',
      endpoints: ['http://127.0.0.1:9002'],
      status: 'pending',
      stepIndex: 0,
      weight: 0,
      salt: 'salt',
      steps: compilePlan(plan),
      analysis: compileAnalysis(analysis),
      metadata: {},
      createdBy: 'token:ci',
      startedAt: now,
    },
    who,
  );
}

function controller(): Controller {
  const c = startController({ store, clock: () => now, tickMs: 0, holder: `c${controllers.length}` });
  controllers.push(c);
  return c;
}

/** Runs `seconds` of simulated traffic at the release's current weight, ticking each second. */
async function run(c: Controller, seconds: number, canary: ArmSpec, rand: () => number, rps = 1000): Promise<Release> {
  let release = (await store.getRelease('rel-1'))!;
  for (let t = 0; t < seconds && !['promoted', 'rolled_back', 'paused'].includes(release.status); t++) {
    const start = Math.floor(now / 1000) * 1000;
    const s = simulateSecond(rand, rps, release.weight / 10_000, HEALTHY, canary);
    const windows: MetricWindow[] = [
      { releaseId: 'rel-1', version: 'v1', windowStart: start, windowMs: 1000, ...s.stable, feedbackSum: 0, feedbackCount: 0 },
      { releaseId: 'rel-1', version: 'v2', windowStart: start, windowMs: 1000, ...s.canary, feedbackSum: 0, feedbackCount: 0 },
    ];
    await store.appendMetricWindows('gateway-1', windows);
    now += 1000;
    await c.tick();
    release = (await store.getRelease('rel-1'))!;
  }
  return release;
}

describe('release runner', () => {
  beforeEach(() => {
    now = 1_700_000_000_000;
  });

  it('takes a healthy canary through every step to promotion, audited by system', async () => {
    await setup('10:30s,50:30s,100');
    const c = controller();
    await c.tick();
    assert.equal((await store.getRelease('rel-1'))!.status, 'progressing');
    const done = await run(c, 400, HEALTHY, seededRandom(1));
    assert.equal(done.status, 'promoted', done.reason ?? '');
    assert.equal((await store.getService('checkout'))!.stable.version, 'v2');
    const actions = (await store.listAudit({ actor: 'system' })).map((e) => e.action).reverse();
    assert.deepEqual(actions, ['release.start', 'release.advance', 'release.advance', 'release.promote', 'release.promoted']);
    const verdicts = await store.listVerdicts('rel-1');
    assert.deepEqual([...new Set(verdicts.map((v) => v.stepIndex))].sort(), [0, 1], 'both analysed steps have stored verdicts');
    assert.ok(verdicts.every((v) => v.outcome !== 'fail'));
    const reasons = (await store.listAudit({ actor: 'system', action: 'release.advance' })).map((e) => e.reason ?? '');
    assert.ok(
      reasons.every((r) => /passed analysis|no sign of regression/.test(r)),
      reasons.join(' | '),
    );
  });

  it('rolls back a canary with 10x the errors at 10% weight, with the evidence in its reason, verdicts and alerts', async () => {
    await setup('10:5m,100');
    const c = controller();
    await c.tick();
    const done = await run(c, 300, { ...HEALTHY, errorRate: 0.05 }, seededRandom(2));
    assert.equal(done.status, 'rolled_back');
    assert.equal(done.weight, 0);
    assert.match(
      done.reason ?? '',
      /sequential judge failed step 1\/2 \(10%\): error-rate: canary [\d.]+% \(\d+\/\d+\) vs stable .*the canary's rate is shown above/,
    );
    assert.ok(done.endedAt! - done.startedAt <= 120_000, `took ${(done.endedAt! - done.startedAt) / 1000}s`);
    const verdicts = await store.listVerdicts('rel-1');
    assert.equal(verdicts[0]!.outcome, 'fail');
    assert.ok(
      (await store.listAlerts('rel-1')).some((a) => a.metric === 'error-rate' && a.resolvedAt === done.endedAt),
      'the alert was raised, and closed when the release ended',
    );
  });

  it('pauses instead when onFailure is pause', async () => {
    await setup('10:5m,100', { onFailure: 'pause' });
    const c = controller();
    await c.tick();
    const done = await run(c, 300, { ...HEALTHY, medianMs: 40 }, seededRandom(3));
    assert.equal(done.status, 'paused');
    assert.match(done.reason ?? '', /latency/);
  });

  it('continues at the same step with the remaining hold after a restart, never double-advancing', async () => {
    await setup('10:1m,50:1m,100', { judge: 'threshold', interval: '10s' });
    const first = controller();
    await first.tick();
    const mid = await run(first, 30, HEALTHY, seededRandom(4));
    assert.equal(mid.stepIndex, 0);
    await first.stop();
    // A new controller (as after SIGKILL and restart) and a stale one both tick.
    const second = controller();
    const rand = seededRandom(5);
    const atStep = await run(second, 31, HEALTHY, rand);
    assert.equal(atStep.stepIndex, 1, 'advanced once the original hold ran out');
    assert.ok(atStep.stepStartedAt - mid.stepStartedAt >= 60_000 && atStep.stepStartedAt - mid.stepStartedAt <= 62_000);
    const advances = (await store.listAudit({ actor: 'system', action: 'release.advance' })).length;
    assert.equal(advances, 1);
  });

  it('exposes release status, weight, step, durations by outcome and verdicts as Prometheus metrics', async () => {
    await setup('10:30s,100');
    const registry = new Registry();
    const c = startController({ store, clock: () => now, tickMs: 0, metrics: createControllerMetrics(registry) });
    controllers.push(c);
    await c.tick();
    await run(c, 5, HEALTHY, seededRandom(8));
    const during = await registry.metrics();
    assert.match(during, /tern_release_status\{service="checkout",release="rel-1",version="v2",status="progressing"\} 1/);
    assert.match(during, /tern_release_weight_percent\{service="checkout",release="rel-1"\} 10/);
    assert.match(during, /tern_release_step\{service="checkout",release="rel-1"\} 1/);
    assert.match(during, /tern_verdicts_total\{judge="sequential",outcome="\w+"\} [1-9]/);
    const done = await run(c, 200, HEALTHY, seededRandom(8));
    assert.equal(done.status, 'promoted');
    await c.tick();
    const after = await registry.metrics();
    assert.match(after, /tern_release_duration_seconds_count\{outcome="promoted"\} 1/);
    assert.doesNotMatch(after, /tern_release_status\{/, 'no active release left');
  });

  it('pauses an undecided step after its extension, saying there is too little traffic', async () => {
    await setup('10:10s,100');
    const c = startController({ store, clock: () => now, tickMs: 0, decide: { maxExtensionMs: 20_000 } });
    controllers.push(c);
    await c.tick();
    const done = await run(c, 60, HEALTHY, seededRandom(6), 2);
    assert.equal(done.status, 'paused');
    assert.match(done.reason ?? '', /too little traffic/);
  });
});
