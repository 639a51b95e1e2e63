/**
 * Two gateways against the real control plane (Fastify API over SQLite, on a real port): a
 * release's weight change reaches both, they agree user by user, no canary user moves back,
 * and their metric windows land in the release's evidence.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { userHash } from '../src/gateway/error-users.js';
import { startGateway, type Gateway } from '../src/gateway/gateway.js';
import { stickyBucket } from '../src/core/sticky.js';
import { startHarness, type Harness, type RoutingJson } from './api-harness.js';
import { client, closedPort, mapLimit, silent, startBackend, type Backend } from './fixtures/gateway-harness.js';

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - started;
}

describe('gateways against the real control plane', () => {
  let h: Harness;
  let stable: Backend;
  let canary: Backend;
  let gws: Gateway[] = [];
  let releaseId = '';
  const http = client(16);
  const users = Array.from({ length: 400 }, (_, i) => `cp-user-${i}`);

  const versionsOn = (gw: Gateway): Promise<string[]> =>
    mapLimit(users, 8, async (u) => (await http.get(`${gw.url}/shop/item`, { 'x-user': u })).text);
  const routingVersion = async (): Promise<number> =>
    (JSON.parse((await h.call('GET', '/api/v1/dataplane/routing')).body) as { version: number }).version;

  before(async () => {
    [stable, canary] = await Promise.all([startBackend('v1'), startBackend('v2')]);
    h = await startHarness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    const service = await h.call('POST', '/api/v1/services', {
      body: {
        name: 'shop',
        match: { pathPrefix: '/shop' },
        stickiness: { header: 'x-user' },
        stable: { version: 'v1', endpoints: [stable.url] },
      },
    });
    assert.equal(service.statusCode, 201, service.body);
    const release = await h.call('POST', '/api/v1/services/shop/releases', {
      body: { version: 'v2', endpoints: [canary.url], steps: [{ weight: 5, hold: '1h' }, { weight: 100 }] },
    });
    assert.equal(release.statusCode, 201, release.body);
    releaseId = (JSON.parse(release.body) as { id: string }).id;
    for (let i = 0; i < 2; i++) {
      gws.push(
        await startGateway({
          host: '127.0.0.1',
          port: 0,
          logger: silent,
          admin: false,
          controlPlane: { url, token: h.tokens.gateway, waitSeconds: 5, pushIntervalMs: 200 },
        }),
      );
    }
  });
  after(async () => {
    await Promise.all(gws.map((g) => g.close()));
    gws = [];
    await http.agent.close();
    await h.close();
    await Promise.all([stable.close(), canary.close()]);
  });

  it('routes by the release weight, the same user to the same version on both gateways', async () => {
    const expected = await routingVersion();
    assert.deepEqual(
      gws.map((g) => g.tableVersion()),
      [expected, expected],
    );
    const [a, b] = [await versionsOn(gws[0]!), await versionsOn(gws[1]!)];
    assert.deepEqual(a, b);
    const share = a.filter((v) => v === 'v2').length / users.length;
    assert.ok(share > 0 && share < 0.12, `canary share at 5%: ${share}`);
    // A new release splits by xxh32(salt ‖ key) mod 10000, user by user.
    const table = JSON.parse((await h.call('GET', '/api/v1/dataplane/routing')).body) as RoutingJson;
    const canaryEntry = table.routes.find((r) => r.service === 'shop')?.canary;
    assert.equal(canaryEntry?.bucketHash, 'xxh32');
    assert.deepEqual(
      a.map((v) => v === 'v2'),
      users.map((u) => stickyBucket(canaryEntry.salt, u, 'xxh32') < 500),
    );
  });

  it('moves a weight change to both gateways within a second and moves no canary user back', async () => {
    const before = await versionsOn(gws[0]!);
    const res = await h.call('PUT', `/api/v1/releases/${releaseId}/weight`, { body: { weight: 50 } });
    assert.equal(res.statusCode, 200, res.body);
    const target = await routingVersion();
    const took = await until(() => gws.every((g) => g.tableVersion() >= target), 1_000);
    assert.ok(took < 1_000);
    const [a, b] = [await versionsOn(gws[0]!), await versionsOn(gws[1]!)];
    assert.deepEqual(a, b);
    before.forEach((v, i) => {
      if (v === 'v2') assert.equal(a[i], 'v2', `${users[i]!} moved back to stable`);
    });
    const share = a.filter((v) => v === 'v2').length / users.length;
    assert.ok(share > 0.4 && share < 0.6, `canary share at 50%: ${share}`);
  });

  it('propagates 100 weight changes to 4 gateways with p99 under a second', async (t) => {
    const url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    for (let i = 0; i < 2; i++) {
      gws.push(
        await startGateway({
          host: '127.0.0.1',
          port: 0,
          logger: silent,
          admin: false,
          controlPlane: { url, token: h.tokens.gateway, waitSeconds: 5, pushIntervalMs: 200 },
        }),
      );
    }
    const delays: number[] = [];
    for (let i = 0; i < 100; i++) {
      const changedAt = Date.now(); // before the API call: its own time counts too
      const res = await h.call('PUT', `/api/v1/releases/${releaseId}/weight`, { body: { weight: i % 2 === 0 ? 20 : 30 } });
      assert.equal(res.statusCode, 200, res.body);
      const target = await routingVersion();
      await until(() => gws.every((g) => g.tableVersion() >= target), 1_000);
      delays.push(Date.now() - changedAt);
    }
    delays.sort((a, b) => a - b);
    const p50 = delays[49]!;
    const p99 = delays[98]!;
    t.diagnostic(`weight change to 4 gateways: p50 ${p50} ms, p99 ${p99} ms, max ${delays[99]!} ms`);
    assert.ok(p99 < 1_000, `p99 ${p99} ms`);
  });

  it("delivers the gateways' metric windows to the release's evidence", async () => {
    type Evidence = { versions: Array<{ version: string; totals: { requests: number } }> };
    const totals = async (): Promise<number> => {
      const res = await h.call('GET', `/api/v1/releases/${releaseId}/metrics`);
      return (JSON.parse(res.body) as Evidence).versions.reduce((n, v) => n + v.totals.requests, 0);
    };
    // Five passes of 400 users went through the gateways in the tests above.
    await until(async () => (await totals()) >= 4 * users.length, 5_000);
  });

  it("adds up the heavy error users both gateways saw in the release's stored windows", async () => {
    const answers = await mapLimit(users, 8, async (u) => [u, (await http.get(`${gws[0]!.url}/shop/item`, { 'x-user': u })).text]);
    const onCanary = answers.find(([, version]) => version === 'v2')?.[0];
    assert.ok(onCanary, 'some of 400 users are on the 5% canary');
    for (const [gw, times] of [
      [gws[0]!, 3],
      [gws[1]!, 2],
    ] as const) {
      for (let i = 0; i < times; i++) assert.equal((await http.get(`${gw.url}/shop/status?code=500`, { 'x-user': onCanary })).status, 500);
    }
    const salt = (await h.store.getRelease(releaseId))!.salt;
    const hash = userHash(salt, onCanary);
    const errorsOf = async (): Promise<number> =>
      (await h.store.listMetricWindows(releaseId)).filter((w) => w.version === 'v2').reduce((n, w) => n + (w.errorUsers?.[hash] ?? 0), 0);
    await until(async () => (await errorsOf()) === 5, 5_000);
  });

  it("reports a canary with no endpoint left to the control plane, in the release's audit trail", async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const svc = await h.call('POST', '/api/v1/services', {
      body: {
        name: 'cart',
        match: { pathPrefix: '/cart' },
        stickiness: { header: 'x-user' },
        stable: { version: 'v1', endpoints: [stable.url] },
      },
    });
    assert.equal(svc.statusCode, 201, svc.body);
    const rel = await h.call('POST', '/api/v1/services/cart/releases', {
      body: { version: 'v2', endpoints: [dead], steps: [{ weight: 100, hold: '1h', analysis: false }] },
    });
    assert.equal(rel.statusCode, 201, rel.body);
    const id = (JSON.parse(rel.body) as { id: string }).id;
    const target = await routingVersion();
    await until(() => gws.every((g) => g.tableVersion() >= target), 2_000);
    const answers = await mapLimit(users.slice(0, 20), 4, async (u) => (await http.get(`${gws[0]!.url}/cart/x`, { 'x-user': u })).text);
    assert.deepEqual(new Set(answers), new Set(['v1']), 'canary users were served by stable');
    type Events = { events: Array<{ action: string; reason: string | null }> };
    await until(async () => {
      const res = await h.call('GET', `/api/v1/releases/${id}/events`);
      return (JSON.parse(res.body) as Events).events.some(
        (e) => e.action === 'gateway.canary_unavailable' && /served by stable/.test(e.reason ?? ''),
      );
    }, 5_000);
  });
});
