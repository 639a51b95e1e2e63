/**
 * Metric pushes through app.inject(): a gateway token reports only on the routing it holds —
 * active releases, their canary and stable versions, counts that add up, windows near the
 * server's clock — and heavy error users and gateway errors reach the store
 * (fabricated pushes could roll a release back within a second).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeOf, serviceWithRelease, startHarness, type ErrorJson, type Harness, type MetricsJson } from './api-harness.js';

const NOW = 1_800_000_000_000;

interface Window {
  releaseId: string;
  version: string;
  windowStart: number;
  windowMs: number;
  requests: number;
  errors: number;
  latency: Record<string, number>;
  gatewayErrors?: number;
  errorUsers?: Record<string, number>;
  latencySampleRate?: number;
}

describe('data-plane metric pushes', () => {
  let h: Harness;
  let rel: string;
  let other: string;

  const window = (extra: Partial<Window> = {}): Window => ({
    releaseId: rel,
    version: 'v2',
    windowStart: NOW - 3_000,
    windowMs: 1000,
    requests: 100,
    errors: 10,
    latency: { '10': 90 },
    ...extra,
  });
  const push = (windows: Window[], events?: unknown[], gateway = 'gw-1') =>
    h.call('POST', '/api/v1/dataplane/metrics', {
      token: h.tokens.gateway,
      body: { gateway, windows, ...(events ? { events } : {}) },
    });
  const fieldOf = (res: { json: <T>() => T }): string | undefined => res.json<ErrorJson>().error.details?.field;
  const stored = async (id = rel) => h.store.listMetricWindows(id);

  before(async () => {
    h = await startHarness({ clock: () => NOW });
    rel = await serviceWithRelease(h, 'shop');
    other = await serviceWithRelease(h, 'cart');
  });
  after(() => h.close());

  it('stores heavy error users and gateway errors of the active release, for its canary and stable', async () => {
    const res = await push([
      window({ gatewayErrors: 5, errorUsers: { '00c0ffee': 7, a1: 2 } }),
      window({ version: 'v1', requests: 900, errors: 1, latency: { '10': 899 }, errorUsers: { '00c0ffee': 1 } }),
    ]);
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual(res.json(), { accepted: 2, ignored: 0 });
    const [v1, v2] = await stored();
    assert.deepEqual([v2?.version, v2?.errors, v2?.gatewayErrors, v2?.errorUsers], ['v2', 10, 5, { '00c0ffee': 7, a1: 2 }]);
    assert.deepEqual([v1?.version, v1?.errors, v1?.gatewayErrors, v1?.errorUsers], ['v1', 1, undefined, { '00c0ffee': 1 }]);
    const shown = await h.call('GET', `/api/v1/releases/${rel}/metrics`, { token: h.tokens.viewer });
    assert.equal(shown.statusCode, 200, shown.body);
    const canary = shown.json<MetricsJson>().versions.find((v) => v.version === 'v2');
    assert.deepEqual(
      canary?.windows.map((w) => [w.requests, w.errors, w.gatewayErrors, w.errorUsers]),
      [[100, 10, 5, { '00c0ffee': 7, a1: 2 }]],
    );
  });

  it('a retried push counts once; another data plane reporting the same second adds to it', async () => {
    const second = NOW - 6_000;
    const batch = [
      window({ windowStart: second, requests: 50, errors: 2, latency: { '10': 50 } }),
      window({ windowStart: second, version: 'v1', errors: 0 }),
    ];
    for (let i = 0; i < 3; i++) assert.equal((await push(batch)).statusCode, 202);
    assert.equal(
      (await push([window({ windowStart: second, requests: 30, errors: 1, latency: { '12': 30 } })], undefined, 'haproxy-a')).statusCode,
      202,
    );
    const canary = (await stored()).find((w) => w.windowStart === second && w.version === 'v2');
    assert.deepEqual([canary?.requests, canary?.errors, canary?.latency], [80, 3, { '10': 50, '12': 30 }]);
    const stable = (await stored()).find((w) => w.windowStart === second && w.version === 'v1');
    assert.equal(stable?.requests, 100, 'three pushes of one batch count once');
  });

  it('sampled latency: stored with its rate, the evidence shows the sample size next to the exact requests', async () => {
    const second = NOW - 7_000;
    const res = await push(
      [
        window({ windowStart: second, requests: 1000, errors: 20, latency: { '10': 60, '14': 40 }, latencySampleRate: 0.1 }),
        window({ windowStart: second, version: 'v1', requests: 1000, errors: 0, latency: { '10': 1000 } }),
      ],
      undefined,
      'nginx-a',
    );
    assert.equal(res.statusCode, 202, res.body);
    const canary = (await stored()).find((w) => w.windowStart === second && w.version === 'v2');
    assert.deepEqual([canary?.requests, canary?.errors, canary?.latencySampleRate], [1000, 20, 0.1]);
    const since = new Date(second).toISOString();
    const shown = await h.call('GET', `/api/v1/releases/${rel}/metrics?since=${encodeURIComponent(since)}&limit=2`, {
      token: h.tokens.viewer,
    });
    assert.equal(shown.statusCode, 200, shown.body);
    const versions = shown.json<MetricsJson>().versions;
    const v2 = versions.find((v) => v.version === 'v2');
    const v1 = versions.find((v) => v.version === 'v1');
    assert.deepEqual([v2?.totals.requests, v2?.totals.errors, v2?.totals.latencySamples], [1000, 20, 100]);
    assert.deepEqual(
      v2?.windows.map((w) => [w.requests, w.latencySamples, w.latencySampleRate]),
      [[1000, 100, 0.1]],
    );
    assert.deepEqual([v1?.totals.requests, v1?.totals.latencySamples, v1?.windows[0]?.latencySampleRate], [1000, 1000, undefined]);
  });

  it('refuses windows of a release the routing table does not hold, or of a version it does not route: 422, nothing stored', async () => {
    const before = await stored();
    const cases: Array<[Window[], string]> = [
      [[window({ windowStart: NOW - 2_000 }), window({ releaseId: 'rel_doesnotexist' })], 'body.windows[1].releaseId'],
      [[window({ windowStart: NOW - 2_000, version: 'v9' })], 'body.windows[0].version'],
      // The other service's release is active, but v3 is none of its versions either.
      [[window({ releaseId: other, version: 'v3' })], 'body.windows[0].version'],
    ];
    for (const [windows, field] of cases) {
      const res = await push(windows);
      assert.equal(res.statusCode, 422, res.body);
      assert.equal(codeOf(res), 'TERN_EVIDENCE_REJECTED');
      assert.equal(fieldOf(res), field);
    }
    assert.deepEqual(await stored(), before, 'not even the valid window of a refused push is stored');
    assert.deepEqual(await stored(other), []);
  });

  it('refuses counts that cannot be true: 400 naming the field', async () => {
    const cases: Array<[Partial<Window>, string]> = [
      [{ windowMs: 60_000 }, 'body.windows[0].windowMs'],
      [{ errors: 101 }, 'body.windows[0].errors'],
      [{ gatewayErrors: 91 }, 'body.windows[0].gatewayErrors'],
      [{ latency: { '10': 60, '20': 41 } }, 'body.windows[0].latency'],
      [{ errorUsers: { ab: 11 } }, 'body.windows[0].errorUsers.ab'],
      [{ errorUsers: { ab: 6, cd: 5 } }, 'body.windows[0].errorUsers'],
      [{ errorUsers: { 'alice@example.com': 1 } }, 'body.windows[0].errorUsers'],
      [{ errorUsers: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [i.toString(16), 0])) }, 'body.windows[0].errorUsers'],
      [{ errorUsers: { ab: -1 } }, 'body.windows[0].errorUsers.ab'],
      [{ latencySampleRate: 0 }, 'body.windows[0].latencySampleRate'],
      [{ latencySampleRate: 1.5 }, 'body.windows[0].latencySampleRate'],
      [{ latencySampleRate: 0.1, latency: { '10': 101 } }, 'body.windows[0].latency'],
    ];
    for (const [extra, field] of cases) {
      const res = await push([window({ windowStart: NOW - 4_000, ...extra })]);
      assert.equal(res.statusCode, 400, `${JSON.stringify(extra)}: ${res.body}`);
      assert.equal(codeOf(res), 'TERN_INVALID_REQUEST');
      assert.equal(fieldOf(res), field, JSON.stringify(extra));
    }
    assert.equal((await stored()).filter((w) => w.windowStart === NOW - 4_000).length, 0);
  });

  it("refuses a window ahead of the server's clock, ignores one older than 10 minutes", async () => {
    const ahead = await push([window({ windowStart: NOW + 6_000 })]);
    assert.equal(ahead.statusCode, 422, ahead.body);
    assert.equal(fieldOf(ahead), 'body.windows[0].windowStart');
    const old = await push([window({ windowStart: NOW - 11 * 60_000 }), window({ windowStart: NOW - 9 * 60_000 })]);
    assert.equal(old.statusCode, 202, old.body);
    assert.deepEqual(old.json(), { accepted: 1, ignored: 1 });
    const starts = (await stored()).map((w) => w.windowStart);
    assert.ok(starts.includes(NOW - 9 * 60_000) && !starts.includes(NOW - 11 * 60_000) && !starts.includes(NOW + 6_000));
  });

  it('records canary-unavailable events only for a service and its active release', async () => {
    const event = (service: string, releaseId: string) => ({
      type: 'canary_unavailable',
      service,
      releaseId,
      windowStart: NOW - 1_000,
      count: 3,
    });
    const audits = async () => (await h.store.listAudit({ action: 'gateway.canary_unavailable' })).length;
    const wrong = await push([], [event('shop', rel), event('cart', rel)]);
    assert.equal(wrong.statusCode, 422, wrong.body);
    assert.equal(fieldOf(wrong), 'body.events[1].releaseId');
    const unknown = await push([], [event('anything', 'rel_nope')]);
    assert.equal(unknown.statusCode, 422, unknown.body);
    assert.equal(await audits(), 0, 'no audit row for a refused push');
    const right = await push([], [event('shop', rel)]);
    assert.equal(right.statusCode, 202, right.body);
    assert.equal(await audits(), 1);
  });

  it('keeps what gateways flush for a release that has ended when it ran before the end; ignores the rest, keeping the batch', async () => {
    const rolled = await h.call('POST', `/api/v1/releases/${other}/rollback`, { body: { reason: 'test' } });
    assert.equal(rolled.statusCode, 200, rolled.body);
    // The harness clock stands still at NOW: the release ended at NOW.
    const res = await push(
      [
        window({ releaseId: other, version: 'v2', windowStart: NOW - 2_000 }), // queued during a store outage: its record
        window({ releaseId: other, version: 'v2', windowStart: NOW }), // after the end
        window({ releaseId: other, version: 'v9', windowStart: NOW - 2_000 }), // not a version it ran
        window({ windowStart: NOW - 5_000 }),
      ],
      [{ type: 'canary_unavailable', service: 'cart', releaseId: other, windowStart: NOW - 2_000, count: 1 }],
    );
    assert.equal(res.statusCode, 202, res.body);
    assert.deepEqual(res.json(), { accepted: 2, ignored: 3 });
    assert.deepEqual(
      (await stored(other)).map((w) => [w.version, w.windowStart]),
      [['v2', NOW - 2_000]],
    );
    assert.ok((await stored()).some((w) => w.windowStart === NOW - 5_000));
  });
});
