/**
 * End to end with a real `tern server`: external data planes report the routing
 * version they applied over HTTP with a gateway token, as `tern agent haproxy|nginx` will. A
 * data plane that applies a step's weight late delays the step's hold (the release says whom it
 * waits for); one that never applies it pauses the release with a reason naming it, the weight
 * and the routing version. The server's own built-in gateway does not report yet, so it never
 * blocks a step (a data plane that never reported is not live).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { apiCaller } from './support/api.js';
import { killAll, startTernServer, startVersionApp, type TernServer } from './support/processes.js';

interface ReleaseJson {
  id: string;
  status: string;
  weight: number;
  stepIndex: number;
  reason: string | null;
  routingVersion: number | null;
  stepAppliedAt: string | null;
}

const APPLY_TIMEOUT_S = 10;
const HOLD_S = 3;
const FEATURES = { regexRules: false, equalsRules: true, websocket: true, bucketHashes: ['xxh32', 'murmur3'] };
const STEPS = [{ weight: 20, hold: `${HOLD_S}s`, analysis: false }, { weight: 50, hold: `${HOLD_S}s`, analysis: false }, { weight: 100 }];

/** An external data plane: heartbeats every `everyMs` with whatever version `applied()` says. */
class Agent {
  #timer: NodeJS.Timeout | null = null;
  /** The routing version the control plane last answered with. */
  latest = 0;
  constructor(
    readonly name: string,
    readonly services: string[],
    readonly applied: (agent: Agent) => number,
    readonly apiUrl: string,
    readonly token: string,
  ) {}
  async report(): Promise<number> {
    const res = await request(`${this.apiUrl}/api/v1/dataplane/status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        dataPlane: this.name,
        kind: 'haproxy',
        appliedVersion: this.applied(this),
        features: FEATURES,
        services: this.services,
      }),
    });
    const body = (await res.body.json()) as { routingVersion: number };
    assert.equal(res.statusCode, 202, JSON.stringify(body));
    this.latest = body.routingVersion;
    return body.routingVersion;
  }
  start(everyMs = 500): void {
    this.#timer = setInterval(() => void this.report().catch(() => undefined), everyMs);
  }
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

describe('a step waits for the data planes end to end', { timeout: 120_000 }, () => {
  let dataDir: string;
  let server: TernServer;
  let gatewayToken: string;
  let stable: string;
  const agents: Agent[] = [];
  const api = apiCaller(
    () => server.apiUrl,
    () => server.adminToken,
  );

  async function waitFor(id: string, until: (r: ReleaseJson) => boolean, timeoutMs: number): Promise<ReleaseJson> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { json } = await api<ReleaseJson>('GET', `/api/v1/releases/${id}`);
      if (until(json)) return json;
      if (Date.now() > deadline) throw new Error(`release ${id}: ${JSON.stringify(json)} after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async function service(name: string): Promise<void> {
    const created = await api('POST', '/api/v1/services', {
      name,
      match: { pathPrefix: `/${name}` },
      stable: { version: 'v1', endpoints: [stable] },
    });
    assert.equal(created.status, 201);
  }

  function agent(name: string, services: string[], applied: (a: Agent) => number): Agent {
    const a = new Agent(name, services, applied, server.apiUrl, gatewayToken);
    agents.push(a);
    return a;
  }

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'tern-e2e-hold-'));
    server = await startTernServer(path.join(dataDir, 'server'), {}, ['--apply-timeout', `${APPLY_TIMEOUT_S}s`]);
    const token = await api<{ secret: string }>('POST', '/api/v1/tokens', { name: 'edge-agents', role: 'gateway' });
    assert.equal(token.status, 201);
    gatewayToken = token.json.secret;
    stable = (await startVersionApp('v1')).url;
  });
  after(async () => {
    for (const a of agents) a.stop();
    await killAll();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('holds a step from when the late data plane applied its weight, saying whom it waits for', async () => {
    await service('late');
    let caughtUp = false;
    const base = await agent('edge-prompt', ['late'], (a) => a.latest).report();
    // edge-late stays at the version it had until it is told to catch up.
    const late = agent('edge-late', ['late'], (a) => (caughtUp ? a.latest : base));
    await late.report();
    agents.forEach((a) => a.start());

    const canary = await startVersionApp('v2');
    const started = await api<ReleaseJson>('POST', '/api/v1/services/late/releases', {
      version: 'v2',
      endpoints: [canary.url],
      steps: STEPS,
    });
    assert.equal(started.status, 201);
    const id = started.json.id;
    const version = started.json.routingVersion!;
    assert.ok(version > base, `the release's weight is written with a new routing version (${version} > ${base})`);
    assert.equal(started.json.stepAppliedAt, null, 'two live data planes carry the service: the hold has not started');

    // edge-prompt may be named too until its next heartbeat carries the new version.
    const expected = `waiting for data plane(s) edge-late to apply weight 20% (routing version ${version})`;
    const waiting = await waitFor(id, (r) => r.reason === expected || r.stepAppliedAt !== null, 10_000);
    assert.equal(waiting.reason, expected);
    // Longer than the hold: without the wait the step would have advanced by now.
    await sleep((HOLD_S + 2) * 1000);
    const held = (await api<ReleaseJson>('GET', `/api/v1/releases/${id}`)).json;
    assert.deepEqual(
      [held.status, held.stepIndex, held.stepAppliedAt],
      ['progressing', 0, null],
      'the step does not advance before edge-late reports',
    );

    const caughtUpAt = Date.now();
    caughtUp = true;
    const applied = await waitFor(id, (r) => r.stepAppliedAt !== null, 5000);
    assert.ok(Date.parse(applied.stepAppliedAt!) >= caughtUpAt - 1000, 'the hold starts when edge-late confirmed');
    assert.match(applied.reason ?? '', /applied by data plane\(s\) edge-late, edge-prompt/);
    const advanced = await waitFor(id, (r) => r.stepIndex === 1 || r.status !== 'progressing', 15_000);
    assert.equal(advanced.stepIndex, 1, JSON.stringify(advanced));
    assert.ok(Date.now() - Date.parse(applied.stepAppliedAt!) >= HOLD_S * 1000, 'the full hold ran after the apply');
    const done = await waitFor(id, (r) => !['progressing', 'promoting'].includes(r.status), 30_000);
    assert.equal(done.status, 'promoted', done.reason ?? '');
    const events = await api<{ events: { action: string; actor: string }[] }>('GET', `/api/v1/releases/${id}/events`);
    const actions = events.json.events.filter((e) => e.actor === 'system').map((e) => e.action);
    assert.ok(actions.includes('release.waiting') && actions.includes('release.applied'), actions.join(', '));
    agents.forEach((a) => a.stop());
  });

  it('pauses the release with a reason naming the data plane, weight and version when it never applies the step', async () => {
    await service('stuck');
    const never = agent('edge-stuck', ['stuck'], () => 0);
    await never.report();
    never.start();
    const canary = await startVersionApp('v2');
    const startedAt = Date.now();
    const started = await api<ReleaseJson>('POST', '/api/v1/services/stuck/releases', {
      version: 'v2',
      endpoints: [canary.url],
      steps: STEPS,
    });
    assert.equal(started.status, 201);
    const version = started.json.routingVersion!;
    const paused = await waitFor(started.json.id, (r) => r.status !== 'progressing', (APPLY_TIMEOUT_S + 10) * 1000);
    never.stop();
    assert.equal(paused.status, 'paused');
    assert.equal(
      paused.reason,
      `data plane(s) edge-stuck did not apply weight 20% (routing version ${version}) within ${APPLY_TIMEOUT_S} s; resume once they have, or roll back`,
    );
    assert.ok(Date.now() - startedAt >= APPLY_TIMEOUT_S * 1000 - 1000, 'not before the deadline');
    const list = await api<{ dataPlanes: { name: string; state: string; appliedVersion: number }[] }>('GET', '/api/v1/dataplanes');
    assert.deepEqual(
      list.json.dataPlanes.find((d) => d.name === 'edge-stuck'),
      { ...list.json.dataPlanes.find((d) => d.name === 'edge-stuck'), state: 'live', appliedVersion: 0 },
    );
  });
});
