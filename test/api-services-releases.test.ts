/** Service CRUD and the release lifecycle through the REST API, as an operator would drive them. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AnalysisJson,
  type AuditListJson,
  type Harness,
  type MetricsJson,
  type ReleaseJson,
  type ReleaseListJson,
  type RoutingJson,
  type ServiceJson,
  type ServiceListJson,
  codeOf,
  serviceBody,
  startHarness,
} from './api-harness.js';

describe('services', () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.close());

  it('are created, read, listed, changed and deleted', async () => {
    const body = serviceBody('cart', {
      stickiness: { header: 'X-User-Id' },
      rules: [{ header: 'x-tester', equals: '1', target: 'canary' }],
    });
    const created = await h.call('POST', '/api/v1/services', { body });
    assert.equal(created.statusCode, 201, created.body);
    assert.deepEqual(created.json<ServiceJson>().stickiness, { header: 'x-user-id', cookie: 'tern_uid' });
    assert.equal(created.json<ServiceJson>().activeRelease, null);

    const got = await h.call('GET', '/api/v1/services/cart', { token: h.tokens.viewer });
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.json<ServiceJson>().rules, [{ header: 'x-tester', equals: '1', target: 'canary' }]);
    assert.deepEqual(got.json<ServiceJson>().stable, { version: 'v1', endpoints: ['http://127.0.0.1:9001'] });

    const patched = await h.call('PATCH', '/api/v1/services/cart', { body: { match: { host: 'Cart.Example' }, rules: [] } });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual(patched.json<ServiceJson>().match, { host: 'cart.example' });
    assert.deepEqual(patched.json<ServiceJson>().rules, []);

    const list = await h.call('GET', '/api/v1/services');
    assert.deepEqual(
      list.json<ServiceListJson>().services.map((s) => s.name),
      ['cart'],
    );

    assert.equal((await h.call('DELETE', '/api/v1/services/cart')).statusCode, 204);
    const gone = await h.call('GET', '/api/v1/services/cart');
    assert.equal(gone.statusCode, 404);
    assert.equal(codeOf(gone), 'TERN_SERVICE_NOT_FOUND');

    const actions = (await h.store.listAudit({ service: 'cart' })).map((e) => `${e.action}:${e.outcome}`);
    assert.deepEqual(actions, ['service.delete:success', 'service.update:success', 'service.create:success']);
  });
});

interface OpenApi {
  paths: Record<
    string,
    { get?: { responses: Record<string, { content: Record<string, { schema: { properties: Record<string, { readOnly?: boolean }> } }> }> } }
  >;
}

describe('release lifecycle', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    for (const name of ['shop', 'pay', 'ship'])
      assert.equal((await h.call('POST', '/api/v1/services', { body: serviceBody(name) })).statusCode, 201);
  });
  after(() => h.close());

  const start = async (service: string, extra: Record<string, unknown> = {}) => {
    const res = await h.call('POST', `/api/v1/services/${service}/releases`, {
      token: h.tokens.deployer,
      body: {
        version: 'v2',
        endpoints: ['http://127.0.0.1:9002'],
        steps: '5:30s,25:1m,100',
        metadata: { commit: '9f8d111' },
        reason: 'ship it',
        ...extra,
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<ReleaseJson>();
  };
  const act = async (id: string, action: string, body: unknown = undefined, method = 'POST') => {
    const res = await h.call(method, `/api/v1/releases/${id}/${action}`, {
      token: h.tokens.deployer,
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.statusCode, json: res.json<ReleaseJson>(), code: codeOf(res) };
  };

  it('starts progressing at the first step, steps up on promote, and ends with the canary as stable', async () => {
    const r = await start('shop');
    assert.equal(r.status, 'progressing');
    assert.equal(r.weight, 5);
    assert.equal(r.stepIndex, 0);
    assert.deepEqual(
      r.steps.map((s) => [s.weight, s.hold, s.holdMs]),
      [
        [5, '30s', 30_000],
        [25, '1m', 60_000],
        [100, '0s', 0],
      ],
    );
    assert.equal(r.baseline.version, 'v1');
    assert.equal(r.createdBy, 'token:deployer-1');
    assert.deepEqual(r.metadata, { commit: '9f8d111' });
    const routing = await h.store.routingTable();
    assert.equal(routing.routes.find((x) => x.service === 'shop')?.canary?.weight, 500, 'the data plane sees basis points');

    const second = await h.call('POST', '/api/v1/services/shop/releases', {
      body: { version: 'v3', endpoints: ['http://127.0.0.1:9003'] },
    });
    assert.equal(second.statusCode, 409);
    assert.equal(codeOf(second), 'TERN_RELEASE_ACTIVE');

    const step1 = await act(r.id, 'promote');
    assert.deepEqual([step1.status, step1.json.stepIndex, step1.json.weight], [200, 1, 25]);
    const step2 = await act(r.id, 'promote', { reason: 'looks good' });
    assert.deepEqual([step2.json.status, step2.json.stepIndex, step2.json.weight], ['progressing', 2, 100]);
    const done = await act(r.id, 'promote');
    assert.equal(done.json.status, 'promoted');
    assert.ok(done.json.endedAt);

    const service = await h.call('GET', '/api/v1/services/shop');
    assert.deepEqual(service.json<ServiceJson>().stable, { version: 'v2', endpoints: ['http://127.0.0.1:9002'] });
    assert.equal(service.json<ServiceJson>().activeRelease, null);
    const late = await act(r.id, 'rollback');
    assert.deepEqual([late.status, late.code], [409, 'TERN_ILLEGAL_TRANSITION']);

    const events = await h.call('GET', `/api/v1/releases/${r.id}/events`, { token: h.tokens.viewer });
    const listed = events.json<AuditListJson>().events;
    const seen = listed.map((e) => `${e.action}:${e.outcome}`);
    assert.deepEqual(seen, [
      'release.rollback:rejected',
      'release.promote:success',
      'release.promote:success',
      'release.promote:success',
      'release.start:success',
    ]);
    assert.equal(listed[4]?.reason, 'ship it');
    assert.equal(listed[2]?.reason, 'looks good');
  });

  it('records the xxh32 bucket hash, shows it read-only, and hands it to the data plane', async () => {
    assert.equal((await h.call('POST', '/api/v1/services', { body: serviceBody('sticky') })).statusCode, 201);
    const refused = await h.call('POST', '/api/v1/services/sticky/releases', {
      token: h.tokens.deployer,
      body: { version: 'v2', endpoints: ['http://127.0.0.1:9002'], bucketHash: 'murmur3' },
    });
    assert.equal(refused.statusCode, 400, 'a client cannot choose the hash');
    const r = await start('sticky');
    assert.equal(r.bucketHash, 'xxh32');
    assert.equal((await h.call('GET', `/api/v1/releases/${r.id}`, { token: h.tokens.viewer })).json<ReleaseJson>().bucketHash, 'xxh32');
    const routing = (await h.call('GET', '/api/v1/dataplane/routing', { token: h.tokens.gateway })).json<RoutingJson>();
    const canary = routing.routes.find((x) => x.service === 'sticky')?.canary;
    assert.deepEqual([canary?.releaseId, canary?.bucketHash], [r.id, 'xxh32']);
    const openapi = (await h.call('GET', '/api/v1/openapi.json', { token: h.tokens.viewer })).json<OpenApi>();
    const schema = openapi.paths['/api/v1/releases/{id}']?.get?.responses['200']?.content['application/json']?.schema;
    assert.equal(schema?.properties.bucketHash?.readOnly, true, 'the OpenAPI document marks bucketHash read-only');
    assert.equal((await act(r.id, 'rollback')).status, 200);
  });

  it('pauses, resumes, takes a hand-set weight, promotes fully and rolls back', async () => {
    const r = await start('pay');
    const paused = await act(r.id, 'pause', { reason: 'lunch' });
    assert.deepEqual([paused.json.status, paused.json.reason], ['paused', 'lunch']);
    assert.equal((await act(r.id, 'pause')).code, 'TERN_ILLEGAL_TRANSITION');
    assert.equal((await act(r.id, 'resume')).json.status, 'progressing');

    const weighted = await act(r.id, 'weight', { weight: 12.5 }, 'PUT');
    assert.deepEqual([weighted.status, weighted.json.status, weighted.json.weight], [200, 'paused', 12.5]);
    // Promote never lowers a hand-set weight: from 12.5% it goes to the 25% step, not back to 5%.
    const next = await act(r.id, 'promote');
    assert.deepEqual([next.json.stepIndex, next.json.weight], [1, 25]);

    const rolled = await act(r.id, 'rollback', { reason: 'errors up' });
    assert.deepEqual([rolled.json.status, rolled.json.weight, rolled.json.reason], ['rolled_back', 0, 'errors up']);
    assert.ok(rolled.json.endedAt);
    const service = await h.call('GET', '/api/v1/services/pay');
    assert.equal(service.json<ServiceJson>().stable.version, 'v1', 'a rollback leaves the stable version');

    const again = await start('pay', { version: 'v3' });
    const full = await act(again.id, 'promote', { full: true });
    assert.equal(full.json.status, 'promoted');
    assert.equal((await h.call('GET', '/api/v1/services/pay')).json<ServiceJson>().stable.version, 'v3');
  });

  it('waits pending at weight 0 without endpoints, and lists releases newest first', async () => {
    const r = await start('ship', { endpoints: undefined });
    assert.deepEqual([r.status, r.weight], ['pending', 0]);
    const service = await h.call('GET', '/api/v1/services/ship');
    assert.deepEqual(service.json<ServiceJson>().activeRelease, { id: r.id, version: 'v2', status: 'pending', weight: 0 });
    await act(r.id, 'rollback');
    const newer = await start('ship', { version: 'v3' });
    const list = await h.call('GET', '/api/v1/services/ship/releases?limit=1', { token: h.tokens.viewer });
    assert.equal(list.statusCode, 200, list.body);
    assert.deepEqual(
      list.json<ReleaseListJson>().releases.map((x) => x.id),
      [newer.id],
    );
    assert.equal((await h.call('GET', '/api/v1/services/ship/releases?limit=0')).statusCode, 400);
    assert.equal((await h.call('GET', '/api/v1/services/nope/releases')).statusCode, 404);
  });

  it('fills every analysis default, keeps every setting it is given, and reads them back', async () => {
    for (const name of ['tune', 'tune-2'])
      assert.equal((await h.call('POST', '/api/v1/services', { body: serviceBody(name) })).statusCode, 201);
    const defaults = await start('tune');
    assert.deepEqual(defaults.analysis, {
      judge: 'sequential',
      onFailure: 'rollback',
      interval: '1s',
      intervalMs: 1000,
      threshold: 5,
      minRequests: 100,
      warmup: '10s',
      warmupMs: 10_000,
      errorRate: { tolerance: 0.1, minDifference: 0.0005, max: 0.05 },
      latency: { tolerance: 0.2, minDifferenceMs: 5, p99MaxMs: null },
      feedback: null,
      checks: [],
    });
    const analysis = {
      judge: 'threshold',
      onFailure: 'pause',
      interval: '30s',
      threshold: 3,
      minRequests: 500,
      warmup: '1m',
      errorRate: { tolerance: 1, minDifference: 0.005, max: null },
      latency: { tolerance: 0.1, minDifferenceMs: 20, p99MaxMs: 800 },
      feedback: { tolerance: 0.25, minScore: 3.5 },
    };
    const set = await start('tune-2', { analysis });
    const expected = {
      ...analysis,
      intervalMs: 30_000,
      warmupMs: 60_000,
      checks: [],
    };
    assert.deepEqual(set.analysis, expected);
    const read = await h.call('GET', `/api/v1/releases/${set.id}`, { token: h.tokens.viewer });
    assert.deepEqual(read.json<ReleaseJson>().analysis, expected, 'the store keeps every setting');
    // Feedback with nothing set compares against stable with the default tolerance and no minimum.
    await act(set.id, 'rollback');
    const feedbackOnly = await start('tune-2', { version: 'v3', analysis: { feedback: {}, warmup: 0 } });
    assert.deepEqual(feedbackOnly.analysis.feedback, { tolerance: 0.5, minScore: null });
    assert.deepEqual([feedbackOnly.analysis.warmup, feedbackOnly.analysis.warmupMs], ['0s', 0]);
  });

  it('answers evidence: metric windows per version and alerts', async () => {
    const r = (await h.store.listReleases({ service: 'ship', active: true }))[0]!;
    const at = Date.now() - 5000;
    const push = await h.call('POST', '/api/v1/dataplane/metrics', {
      token: h.tokens.gateway,
      body: {
        gateway: 'gw-1',
        windows: [{ releaseId: r.id, version: 'v3', windowStart: at, windowMs: 1000, requests: 10, errors: 1, latency: { '5': 10 } }],
      },
    });
    assert.equal(push.statusCode, 202, push.body);
    const metrics = await h.call('GET', `/api/v1/releases/${r.id}/metrics?since=${at - 1}`);
    assert.equal(metrics.statusCode, 200, metrics.body);
    const canary = metrics.json<MetricsJson>().versions.find((v) => v.role === 'canary');
    assert.deepEqual(canary?.totals, { requests: 10, errors: 1, errorRate: 0.1, latencySamples: 10 });
    assert.equal(canary.windows[0]?.windowStart, new Date(at).toISOString());
    const later = await h.call('GET', `/api/v1/releases/${r.id}/metrics?since=${new Date(at + 1).toISOString()}`);
    assert.equal(later.json<MetricsJson>().versions.find((v) => v.role === 'canary')?.windows.length, 0);
    const empty = await h.call('GET', `/api/v1/releases/${r.id}/analysis`);
    assert.deepEqual(empty.json<AnalysisJson>(), { releaseId: r.id, verdicts: [], alerts: [] });
    const checks = [{ check: 'errorRate', statistic: 2.5, bound: 20, verdict: 'inconclusive' }];
    await h.store.recordVerdict({
      releaseId: r.id,
      stepIndex: 0,
      judge: 'sequential',
      outcome: 'inconclusive',
      checks,
      windowFrom: at,
      windowTo: at + 1000,
      at: at + 2000,
    });
    await h.store.raiseAlert({ releaseId: r.id, metric: 'errorRate', threshold: 0.05, observed: 0.1, at });
    const analysis = (await h.call('GET', `/api/v1/releases/${r.id}/analysis`)).json<AnalysisJson>();
    assert.deepEqual(
      analysis.verdicts.map((v) => [v.judge, v.outcome, v.checks, v.windowFrom, v.at]),
      [['sequential', 'inconclusive', checks, new Date(at).toISOString(), new Date(at + 2000).toISOString()]],
    );
    assert.deepEqual(
      analysis.alerts.map((a) => [a.metric, a.threshold, a.observed, a.triggeredAt, a.resolvedAt]),
      [['errorRate', 0.05, 0.1, new Date(at).toISOString(), null]],
    );
    assert.equal((await h.store.listAudit({ action: 'metrics.push' })).length, 0, 'accepted pushes are not audited');

    // A gateway's backlog after an outage comes as one big batch, far over the 64 KiB default.
    const latency = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [String(i), 3]));
    const backlog = Array.from({ length: 1000 }, (_, i) => ({
      releaseId: r.id,
      version: 'v1',
      windowStart: at - 10_000_000 + i * 1000,
      windowMs: 1000,
      requests: 120,
      errors: 0,
      latency,
    }));
    const big = await h.call('POST', '/api/v1/dataplane/metrics', { token: h.tokens.gateway, body: { gateway: 'gw-1', windows: backlog } });
    assert.equal(big.statusCode, 202, big.body.slice(0, 300));
    assert.ok(JSON.stringify(backlog).length > 200 * 1024, 'the batch is really big');
  });
});
