/**
 * The data-plane registry over the API: status reports from gateway tokens, the
 * list with live/stale/left states, and service rules a live data plane carrying the service
 * cannot execute refused with TERN_DATAPLANE_UNSUPPORTED, naming the data plane and feature.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Static } from 'typebox';
import type { DataPlaneList } from '../src/api/schemas/dataplane.js';
import { DATA_PLANE_LIVE_MS } from '../src/core/data-plane.js';
import { codeOf, serviceBody, startHarness, type Harness, type RoutingJson } from './api-harness.js';

type ListJson = Static<typeof DataPlaneList>;
const HAPROXY = { regexRules: false, equalsRules: true, websocket: true, bucketHashes: ['xxh32'] };
const BUILTIN = { regexRules: true, equalsRules: true, websocket: true, bucketHashes: ['xxh32', 'murmur3'] };
const REGEX_RULE = { header: 'x-tester', regex: '^qa-', target: 'canary' };
const EQUALS_RULE = { header: 'x-tester', equals: '1', target: 'canary' };

describe('data-plane status and registry', () => {
  let h: Harness;
  let now = 1_800_000_000_000;
  before(async () => {
    h = await startHarness({ clock: () => now });
  });
  after(() => h.close());

  const status = (body: Record<string, unknown>, token = h.tokens.gateway) => h.call('POST', '/api/v1/dataplane/status', { token, body });
  const list = async (): Promise<ListJson> => {
    const res = await h.call('GET', '/api/v1/dataplanes', { token: h.tokens.viewer });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<ListJson>();
  };

  it("accepts a gateway's report with 202 and the current routing version; refuses malformed ones and other roles", async () => {
    const table = (await h.call('GET', '/api/v1/dataplane/routing', { token: h.tokens.gateway })).json<RoutingJson>();
    const res = await status({ dataPlane: 'edge-1', kind: 'builtin', appliedVersion: table.version, features: BUILTIN, services: null });
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual(res.json(), { routingVersion: table.version });
    for (const bad of [
      { dataPlane: '', kind: 'builtin', appliedVersion: 0, features: BUILTIN, services: null },
      { dataPlane: 'x', kind: 'envoy', appliedVersion: 0, features: BUILTIN, services: null },
      { dataPlane: 'x', kind: 'builtin', appliedVersion: -1, features: BUILTIN, services: null },
      { dataPlane: 'x', kind: 'builtin', appliedVersion: 0, features: { regexRules: true }, services: null },
      { dataPlane: 'x', kind: 'builtin', appliedVersion: 0, features: BUILTIN },
      { dataPlane: 'x', kind: 'builtin', appliedVersion: 0, features: BUILTIN, services: null, leaving: false },
    ]) {
      const answer = await status(bad);
      assert.equal(answer.statusCode, 400, `${JSON.stringify(bad)}: ${answer.body}`);
    }
    const report = { dataPlane: 'x', kind: 'builtin', appliedVersion: 0, features: BUILTIN, services: null };
    assert.equal((await status(report, h.tokens.viewer)).statusCode, 403);
    assert.equal((await status(report, h.tokens.deployer)).statusCode, 403);
    const audit = await h.store.listAudit({ action: 'dataplane.status' });
    assert.ok(audit.length >= 2 && audit.every((e) => e.outcome !== 'success'), 'only failures are audited, like metric pushes');
  });

  it('refuses a regex rule while a live HAProxy carries the service, naming it; accepts it once that data plane is stale', async () => {
    await status({ dataPlane: 'haproxy-eu', kind: 'haproxy', appliedVersion: 1, features: HAPROXY, services: ['checkout', 'search'] });
    const refused = await h.call('POST', '/api/v1/services', { body: serviceBody('checkout', { rules: [REGEX_RULE] }) });
    assert.equal(refused.statusCode, 422, refused.body);
    assert.equal(codeOf(refused), 'TERN_DATAPLANE_UNSUPPORTED');
    assert.match(refused.json<{ error: { message: string } }>().error.message, /data plane haproxy-eu \(haproxy\).*regex match rules/);
    assert.equal((await h.call('GET', '/api/v1/services/checkout')).statusCode, 404, 'nothing was stored');

    const other = await h.call('POST', '/api/v1/services', { body: serviceBody('billing', { rules: [REGEX_RULE] }) });
    assert.equal(other.statusCode, 201, 'haproxy-eu does not carry billing');
    const created = await h.call('POST', '/api/v1/services', { body: serviceBody('checkout', { rules: [EQUALS_RULE] }) });
    assert.equal(created.statusCode, 201, created.body);
    const patched = await h.call('PATCH', '/api/v1/services/checkout', { body: { rules: [EQUALS_RULE, REGEX_RULE] } });
    assert.equal(patched.statusCode, 422, patched.body);
    assert.equal(codeOf(patched), 'TERN_DATAPLANE_UNSUPPORTED');

    now += DATA_PLANE_LIVE_MS;
    const later = await h.call('PATCH', '/api/v1/services/checkout', { body: { rules: [EQUALS_RULE, REGEX_RULE] } });
    assert.equal(later.statusCode, 200, 'a stale data plane refuses nothing');
  });

  it('lists each data plane live, stale or left, how far behind it is, and the services it cannot execute', async () => {
    // haproxy-eu comes back and finds checkout with a regex rule it cannot run: recorded and shown, not refused.
    const back = await status({
      dataPlane: 'haproxy-eu',
      kind: 'haproxy',
      appliedVersion: 2,
      features: HAPROXY,
      services: ['checkout', 'search'],
    });
    assert.equal(back.statusCode, 202);
    await status({ dataPlane: 'nginx-1', kind: 'nginx', appliedVersion: 2, features: HAPROXY, services: ['search'], leaving: true });
    const body = await list();
    assert.equal(body.liveMs, DATA_PLANE_LIVE_MS);
    const byName = new Map(body.dataPlanes.map((dp) => [dp.name, dp]));
    assert.deepEqual([...byName.keys()], ['edge-1', 'haproxy-eu', 'nginx-1']);
    assert.equal(byName.get('edge-1')?.state, 'stale');
    assert.equal(byName.get('nginx-1')?.state, 'left');
    const eu = byName.get('haproxy-eu')!;
    assert.equal(eu.state, 'live');
    assert.equal(eu.behind, body.routingVersion - 2);
    assert.deepEqual(eu.unsupported, [{ service: 'checkout', missing: ['regex match rules'] }]);
    assert.deepEqual(byName.get('edge-1')?.unsupported, [], 'the built-in gateway runs regex rules');
  });
});
