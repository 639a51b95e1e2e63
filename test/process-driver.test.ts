/**
 * The process deploy driver end to end, with a real tiny HTTP app (test/fixtures/tiny-app.mjs):
 * instances start on free loopback ports, become ready, are registered on the release (and so
 * in the routing table) before it starts; their output is served by the logs API; a canary that
 * never becomes ready (or crashes) fails the release with the reason; rollback and promotion
 * retire what is no longer routed to; a restarted controller leaves no orphans and never
 * starts a release's instances twice.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { groupAlive, stopGroup } from '../src/control/drivers/process-group.js';
import { startController, type Controller } from '../src/control/runner.js';
import type { Release } from '../src/core/types.js';
import { startHarness, type Harness, type ReleaseJson, type ServiceJson } from './api-harness.js';

const FIXTURE = path.resolve(import.meta.dirname, 'fixtures/tiny-app.mjs');
const COMMAND = `"${process.execPath}" ${FIXTURE} --port {port} --version {version}`;

let now = 1_700_000_000_000;
let h: Harness;
let dataDir = '';
const controllers: Controller[] = [];
const seenPids = new Set<number>();

before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'tern-driver-'));
});
afterEach(async () => {
  for (const c of controllers.splice(0)) await c.stop();
  await h.close();
});
after(async () => {
  // Whatever a failing test left behind.
  await Promise.all([...seenPids].map((pid) => stopGroup(pid, 500)));
  await rm(dataDir, { recursive: true, force: true });
});

function controller(): Controller {
  const c = startController({ store: h.store, clock: () => now, tickMs: 0, dataDir, retireGraceMs: 2000, webhookSecret: 's' });
  controllers.push(c);
  return c;
}

async function service(deploy: Record<string, unknown>): Promise<ServiceJson> {
  const res = await h.call('POST', '/api/v1/services', {
    body: {
      name: 'shop',
      match: { pathPrefix: '/shop' },
      stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
      deploy: { driver: 'process', command: COMMAND, ...deploy },
    },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<ServiceJson>();
}

async function start(version = 'v2'): Promise<string> {
  const res = await h.call('POST', '/api/v1/services/shop/releases', { body: { version, steps: '10:1m,100' } });
  assert.equal(res.statusCode, 201, res.body);
  assert.equal(res.json<ReleaseJson>().status, 'pending');
  return res.json<ReleaseJson>().id;
}

/** Ticks (real time passing, fake clock moving 500 ms a tick) until `done` holds for the release. */
async function until(c: Controller, id: string, done: (r: Release) => boolean, ms = 15_000): Promise<Release> {
  const deadline = Date.now() + ms;
  for (;;) {
    await c.tick();
    const r = (await h.store.getRelease(id))!;
    for (const i of r.deployment?.instances ?? []) seenPids.add(i.pid);
    if (done(r)) return r;
    if (Date.now() > deadline)
      assert.fail(`timed out; release is ${r.status} (${r.reason ?? ''}), deployment ${JSON.stringify(r.deployment)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    now += 500;
  }
}

const pidsOf = (r: Release): number[] => (r.deployment?.instances ?? []).map((i) => i.pid);

describe('process deploy driver', () => {
  it('starts N ready instances, registers them, starts the release, serves their logs, retires them on rollback', async () => {
    h = await startHarness({ clock: () => now });
    const svc = await service({
      instances: 2,
      readiness: { path: '/healthz', timeout: '10s' },
      env: { SECRET_KEY: 'hunter2' },
      retireAfter: '1s',
    });
    assert.deepEqual(svc.deploy.env, { SECRET_KEY: '***' });
    const id = await start();
    const c = controller();
    process.env.TERN_ADMIN_TOKEN = 'must-not-leak';
    const ready = await until(c, id, (r) => r.endpoints.length > 0).finally(() => delete process.env.TERN_ADMIN_TOKEN);
    assert.equal(ready.status, 'pending');
    assert.equal(ready.deployment?.state, 'ready');
    assert.equal(ready.endpoints.length, 2);
    for (const endpoint of ready.endpoints) {
      assert.match(endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(await (await fetch(endpoint)).text(), 'v2');
    }
    const started = await until(c, id, (r) => r.status === 'progressing');
    assert.equal(started.weight, 1000);
    const route = (await h.store.routingTable()).routes.find((r) => r.service === 'shop');
    assert.deepEqual(route?.canary?.endpoints, ready.endpoints);

    const logs = await h.call('GET', `/api/v1/releases/${id}/logs?lines=20`, { token: h.tokens.viewer });
    assert.equal(logs.statusCode, 200, logs.body);
    const instances = logs.json<{ instances: Array<{ index: number; lines: string[] }> }>().instances;
    assert.deepEqual(
      instances.map((i) => i.index),
      [0, 1],
    );
    assert.ok(instances.every((i) => i.lines.some((l) => /tiny-app v2 listening/.test(l))));
    assert.ok(
      instances.every((i) => i.lines.some((l) => /PORT=\d+, TERN_VERSION=v2, admin token hidden/.test(l))),
      'TERN_* settings are not passed on',
    );
    const shown = (await h.call('GET', `/api/v1/releases/${id}`)).json<ReleaseJson>();
    assert.deepEqual(
      shown.deployment?.instances.map((i) => i.pid),
      pidsOf(ready),
    );

    assert.equal((await h.call('POST', `/api/v1/releases/${id}/rollback`, { body: { reason: 'changed my mind' } })).statusCode, 200);
    const retired = await until(c, id, (r) => r.deployment?.state === 'retired');
    assert.equal(retired.status, 'rolled_back');
    assert.ok(
      pidsOf(retired).every((pid) => !groupAlive(pid)),
      'canary processes are gone',
    );
    assert.match(await readFile(ready.deployment.instances[0]!.logFile, 'utf8'), /got SIGTERM/);
  });

  it('ends a canary that never becomes ready as failed, with the reason and its last log lines, and stops it', async () => {
    h = await startHarness({ clock: () => now });
    await service({ readiness: { path: '/healthz', timeout: '1s' }, env: { TINY_MODE: 'never-ready' } });
    const id = await start();
    const c = controller();
    const failed = await until(c, id, (r) => r.status === 'failed');
    assert.match(
      failed.reason ?? '',
      /instance 0 \(pid \d+\) never became ready: no 2xx from GET http:\/\/127\.0\.0\.1:\d+\/healthz within 1s \(last: HTTP 503\); last log lines: .*listening on/,
    );
    const retired = await until(c, id, (r) => r.deployment?.state === 'retired');
    assert.ok(pidsOf(retired).every((pid) => !groupAlive(pid)));
  });

  it('reports the exit code and output of a canary that crashes at start', async () => {
    h = await startHarness({ clock: () => now });
    await service({ readiness: { path: '/healthz', timeout: '10s' }, env: { TINY_MODE: 'crash' } });
    const id = await start();
    const failed = await until(controller(), id, (r) => r.status === 'failed');
    assert.match(failed.reason ?? '', /never became ready: exited with code 3; last log lines: .*boom: cannot connect to the database/);
  });

  it('fails a release whose command cannot be started at all', async () => {
    h = await startHarness({ clock: () => now });
    const res = await h.call('POST', '/api/v1/services', {
      body: {
        name: 'shop',
        match: { pathPrefix: '/shop' },
        stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
        deploy: { driver: 'process', command: 'tern-no-such-program-xyz --port {port}' },
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    const failed = await until(controller(), await start(), (r) => r.status === 'failed');
    assert.match(failed.reason ?? '', /could not start tern-no-such-program-xyz --port \{port\}: spawn tern-no-such-program-xyz ENOENT/);
  });

  it('after a controller restart: no orphans, no double start; promotion retires the old stable', async () => {
    h = await startHarness({ clock: () => now });
    await service({
      instances: 2,
      readiness: { path: '/healthz', timeout: '10s' },
      env: { TINY_MODE: 'slow', TINY_READY_MS: '1000' },
      retireAfter: '0s',
    });
    const id = await start();
    const first = controller();
    const half = await until(first, id, (r) => r.deployment?.state === 'starting');
    await first.stop();
    const before = pidsOf(half);
    assert.ok(before.every(groupAlive), 'instances recorded in the store outlive the controller');

    const second = controller();
    const ready = await until(second, id, (r) => r.deployment?.state === 'ready');
    const after = pidsOf(ready);
    assert.ok(
      before.every((pid) => !groupAlive(pid)),
      'half-started instances of the old controller were stopped',
    );
    assert.equal(after.length, 2);
    assert.ok(after.every((pid) => groupAlive(pid) && !before.includes(pid)));

    assert.equal((await h.call('POST', `/api/v1/releases/${id}/promote`, { body: { full: true } })).statusCode, 200);
    const next = await start('v3');
    const v3 = await until(second, next, (r) => r.deployment?.state === 'ready');
    assert.equal((await h.call('POST', `/api/v1/releases/${next}/promote`, { body: { full: true } })).statusCode, 200);
    const old = await until(second, id, (r) => r.deployment?.state === 'retired');
    assert.ok(
      pidsOf(old).every((pid) => !groupAlive(pid)),
      "the replaced stable's instances are gone",
    );
    assert.ok(pidsOf(v3).every(groupAlive), 'the new stable keeps running');
    assert.equal((await h.store.getService('shop'))?.stable.version, 'v3');
  });
});
