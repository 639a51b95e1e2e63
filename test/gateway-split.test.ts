/**
 * Sticky weighted split and match rules, through the gateway's own decision code and over
 * real sockets.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { DEFAULT_POOL_SETTINGS, EndpointRegistry } from '../src/gateway/endpoints.js';
import { startGateway, type Gateway } from '../src/gateway/gateway.js';
import { compileTable, type CompiledRoute } from '../src/gateway/route-table.js';
import { decide } from '../src/gateway/split.js';
import { client, mapLimit, route, silent, startBackend, table, type Backend } from './fixtures/gateway-harness.js';

function fakeRequest(headers: Record<string, string>, ip = '10.0.0.1'): IncomingMessage {
  return { headers, socket: { remoteAddress: ip } } as unknown as IncomingMessage;
}

async function compiledRoute(weight: number, registry: EndpointRegistry): Promise<CompiledRoute> {
  const t = table(
    1,
    route({
      header: 'x-user-id',
      stable: ['http://127.0.0.1:1'],
      canary: { endpoints: ['http://127.0.0.1:2'], weight, salt: 'release-salt-42' },
    }),
  );
  return Promise.resolve(compileTable(t, registry).match(undefined, '/')!);
}

describe('sticky split (decision code path)', () => {
  const registry = new EndpointRegistry(DEFAULT_POOL_SETTINGS);
  after(() => registry.destroyAll());
  const users = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

  for (const weight of [500, 2_500, 5_000]) {
    it(`puts ${weight / 100}% ± 1 point of 20,000 users on the canary`, async () => {
      const r = await compiledRoute(weight, registry);
      const onCanary = users.filter((u) => decide(r, fakeRequest({ 'x-user-id': u }), true).target === 'canary').length;
      assert.ok(Math.abs(onCanary / users.length - weight / 10_000) <= 0.01, `${onCanary} of ${users.length}`);
    });
  }

  it('raising 5 → 25 → 50 moves no canary user back to stable', async () => {
    let previous = new Set<string>();
    for (const weight of [500, 2_500, 5_000]) {
      const r = await compiledRoute(weight, registry);
      const now = new Set(users.filter((u) => decide(r, fakeRequest({ 'x-user-id': u }), true).target === 'canary'));
      for (const u of previous) assert.ok(now.has(u), `${u} left the canary at ${weight} bps`);
      assert.ok(now.size > previous.size);
      previous = now;
    }
  });
});

describe('sticky split over the wire', () => {
  let stable: Backend;
  let canary: Backend;
  let gw: Gateway;
  const http = client(32);

  before(async () => {
    [stable, canary] = await Promise.all([startBackend('v1'), startBackend('v2')]);
    gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: table(
        1,
        route({
          service: 'checkout',
          pathPrefix: '/checkout',
          header: 'x-user-id',
          stable: [stable.url],
          canary: { endpoints: [canary.url], weight: 2_500, salt: 'release-salt-42' },
        }),
        route({
          service: 'search',
          pathPrefix: '/search',
          stable: [stable.url],
          canary: { endpoints: [canary.url], weight: 0 },
          rules: [
            { header: 'x-tester', equals: 'yes', target: 'canary' },
            { cookie: 'beta', regex: '^opt-in-\\d+$', target: 'canary' },
          ],
        }),
      ),
    });
  });
  after(async () => {
    await gw.close();
    await http.agent.close();
    await Promise.all([stable.close(), canary.close()]);
  });

  it('routes 2,000 distinct users at 25% within ±3 points, each to the version the decision code picks', async () => {
    const registry = new EndpointRegistry(DEFAULT_POOL_SETTINGS);
    const r = await compiledRoute(2_500, registry);
    const users = Array.from({ length: 2_000 }, (_, i) => `wire-${i}`);
    const got = await mapLimit(users, 16, async (u) => (await http.get(`${gw.url}/checkout/cart`, { 'x-user-id': u })).text);
    await registry.destroyAll();
    // Same salt as the decision-path route: the proxy must agree with decide() user by user.
    const expected = users.map((u) => (decide(r, fakeRequest({ 'x-user-id': u }), true).target === 'canary' ? 'v2' : 'v1'));
    assert.deepEqual(got, expected);
    const share = got.filter((v) => v === 'v2').length / users.length;
    assert.ok(Math.abs(share - 0.25) <= 0.03, `canary share ${share}`);
  });

  it('keeps each user on one version across repeated requests', async () => {
    const users = Array.from({ length: 40 }, (_, i) => `repeat-${i}`);
    for (const u of users) {
      const seen = new Set(
        await mapLimit(Array.from({ length: 25 }), 8, async () => (await http.get(`${gw.url}/checkout`, { 'x-user-id': u })).text),
      );
      assert.equal(seen.size, 1, `${u} saw ${[...seen].join(', ')}`);
    }
  });

  it('sends testers to the canary at weight 0 by header or cookie rule', async () => {
    assert.equal((await http.get(`${gw.url}/search`, { 'x-tester': 'yes' })).text, 'v2');
    assert.equal((await http.get(`${gw.url}/search`, { cookie: 'a=b; beta=opt-in-7' })).text, 'v2');
    assert.equal((await http.get(`${gw.url}/search`, { cookie: 'beta=opt-in-x' })).text, 'v1');
    assert.equal((await http.get(`${gw.url}/search`, { 'x-tester': 'no' })).text, 'v1');
  });

  it('lets no client header pick a version without an operator rule', async () => {
    for (const headers of [
      { 'x-tern-version': 'v2' },
      { 'x-tern-version': 'canary' },
      { 'x-canary': 'always' },
      { cookie: 'tern_version=v2' },
    ]) {
      assert.equal((await http.get(`${gw.url}/search`, headers)).text, 'v1', JSON.stringify(headers));
    }
  });

  it('issues a tern_uid cookie when the user has no key, and honours it afterwards', async () => {
    const first = await http.get(`${gw.url}/search`);
    const setCookie = String(first.headers['set-cookie']);
    assert.match(setCookie, /^tern_uid=[A-Za-z0-9_-]{22}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.equal(first.headers['x-tern-version'], undefined, 'the version header is off by default');
    const cookie = setCookie.split(';')[0]!;
    const again = await http.get(`${gw.url}/search`, { cookie });
    assert.equal(again.headers['set-cookie'], undefined);
  });

  it('keys a cookie user by the cookie: the cookie decides the version', async () => {
    gw.applyTable(
      table(
        2,
        route({ service: 'web', pathPrefix: '/', stable: [stable.url], canary: { endpoints: [canary.url], weight: 5_000, salt: 's' } }),
      ),
    );
    const versions = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const cookie = `tern_uid=cookie-user-${i}`;
      const seen = new Set(await mapLimit(Array.from({ length: 5 }), 5, async () => (await http.get(`${gw.url}/`, { cookie })).text));
      assert.equal(seen.size, 1);
      versions.add([...seen][0]!);
    }
    assert.deepEqual([...versions].sort(), ['v1', 'v2'], 'at 50% both versions should appear across 30 users');
  });
});
