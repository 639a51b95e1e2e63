/**
 * The release runner waits for the data planes: over a real SQLite store with a
 * fake clock, a step's hold starts only when every live data plane carrying the service has
 * reported the step's routing version; the release says for whom it waits, and pauses with a
 * reason naming the data plane, weight and version when one does not confirm in time.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DATA_PLANE_LIVE_MS, type DataPlaneReport } from '../src/core/data-plane.js';
import { applyAction } from '../src/core/release-rules.js';
import { compileAnalysis, compilePlan } from '../src/core/plan.js';
import type { Release } from '../src/core/types.js';
import { startController, type Controller } from '../src/control/runner.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';

const who = {
  actor: 'token:ci',
  source: '127.0.0.1',
  action: 'test',
  target: 'test',
  outcome: 'success' as const,
  reason: null,
  detail: null,
};
const FEATURES = { regexRules: false, equalsRules: true, websocket: true, bucketHashes: ['xxh32', 'murmur3'] };
const HOLD_MS = 30_000;

let now = 1_700_000_000_000;
let store: Store;
const controllers: Controller[] = [];
after(async () => {
  for (const c of controllers) await c.stop();
});

async function setup(applyTimeoutMs: number): Promise<Controller> {
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
  const steps = compilePlan('10:30s,50:30s,100').map((s) => ({ ...s, analysis: false }));
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
      steps,
      analysis: compileAnalysis({}),
      metadata: {},
      createdBy: 'token:ci',
      startedAt: now,
    },
    who,
  );
  const c = startController({ store, clock: () => now, tickMs: 0, holder: `c${controllers.length}`, applyTimeoutMs });
  controllers.push(c);
  return c;
}

const release = async (): Promise<Release> => (await store.getRelease('rel-1'))!;

function report(name: string, appliedVersion: number, extra: Partial<DataPlaneReport> = {}): Promise<unknown> {
  return store.reportDataPlane({ name, kind: 'haproxy', appliedVersion, features: FEATURES, services: null, ...extra });
}

/** Moves the clock on second by second, each data plane in `heartbeats` reporting its version each second, ticking the controller. */
async function runFor(c: Controller, ms: number, heartbeats: Record<string, number> = {}): Promise<void> {
  for (let t = 0; t < ms; t += 1000) {
    now += 1000;
    for (const [name, version] of Object.entries(heartbeats)) await report(name, version);
    await c.tick();
  }
}

describe('release runner and data planes', () => {
  it('starts the hold when the last live data plane reports the step weight, and says whom it waits for', async () => {
    const c = await setup(60_000);
    await report('edge-a', 0);
    await report('edge-b', 0);
    await report('elsewhere', 0, { services: ['search'] });
    await c.tick();
    const started = await release();
    assert.equal(started.status, 'progressing');
    assert.equal(started.stepAppliedAt, null, 'two live data planes carry checkout');
    const version = started.routingVersion!;
    assert.ok(version > 0);

    // edge-a applies at once; edge-b lags 20 s behind, heartbeating its old version.
    await runFor(c, 20_000, { 'edge-a': version, 'edge-b': version - 1 });
    const waiting = await release();
    assert.equal(waiting.stepIndex, 0);
    assert.equal(waiting.stepAppliedAt, null);
    assert.equal(waiting.reason, `waiting for data plane(s) edge-b to apply weight 10% (routing version ${version})`);
    const appliedAt = now + 1000;
    await runFor(c, 1000, { 'edge-a': version, 'edge-b': version });
    const applied = await release();
    assert.equal(applied.stepAppliedAt, appliedAt, 'the hold starts when edge-b confirmed');
    assert.match(applied.reason ?? '', /applied by data plane\(s\) edge-a, edge-b/);

    // The 30 s hold runs from the applied time, not from the store write 21 s earlier.
    await runFor(c, HOLD_MS - 1000, { 'edge-a': version, 'edge-b': version });
    assert.equal((await release()).stepIndex, 0, 'not before 30 s after the data planes applied it');
    await runFor(c, 1000, { 'edge-a': version, 'edge-b': version });
    const advanced = await release();
    assert.equal(advanced.stepIndex, 1);
    assert.ok(advanced.routingVersion! > version, 'the new weight was written with a new routing version');
    assert.equal(advanced.stepAppliedAt, null, 'and waits for the data planes again');
    const actions = (await store.listAudit({ actor: 'system' })).map((e) => e.action).reverse();
    assert.deepEqual(actions, ['release.start', 'release.waiting', 'release.applied', 'release.advance']);
  });

  it('pauses the release, naming the data plane, weight and version, when one does not apply it within the deadline', async () => {
    const c = await setup(30_000);
    await report('edge-a', 0);
    await c.tick();
    const version = (await release()).routingVersion!;
    await runFor(c, 29_000, { 'edge-a': version - 1 });
    assert.equal((await release()).status, 'progressing', 'still within the deadline');
    await runFor(c, 1000, { 'edge-a': version - 1 });
    const paused = await release();
    assert.equal(paused.status, 'paused');
    assert.equal(
      paused.reason,
      `data plane(s) edge-a did not apply weight 10% (routing version ${version}) within 30 s; resume once they have, or roll back`,
    );
    const [event] = await store.listAudit({ actor: 'system', action: 'release.pause' });
    assert.deepEqual(event?.detail, {
      stepIndex: 0,
      weight: 10,
      routingVersion: version,
      dataPlanes: ['edge-a'],
      cause: `not applied: weight 10% (routing version ${version})`,
    });

    // A resume gives the data planes a fresh deadline; once edge-a applies the version, the hold runs.
    await store.updateRelease('rel-1', (r) => applyAction('resume', r, now, 'edge-a fixed'), who);
    await runFor(c, 5000, { 'edge-a': version - 1 });
    assert.equal((await release()).status, 'progressing', 'not paused again at once');
    await runFor(c, 1000, { 'edge-a': version });
    assert.equal((await release()).stepAppliedAt, now);
  });

  it('does not wait for a data plane that went quiet (stale) or said it was leaving', async () => {
    const c = await setup(30_000);
    await report('quiet', 0);
    await report('leaving', 0, { leaving: true });
    now += DATA_PLANE_LIVE_MS;
    await c.tick();
    const started = await release();
    assert.equal(started.stepAppliedAt, started.stepStartedAt, 'no live data plane: the hold starts at the store write');
    await runFor(c, HOLD_MS);
    assert.equal((await release()).stepIndex, 1);
  });
});
