import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { quantile, totalCount } from '../core/latency-histogram.js';
import { MAX_USERS_PER_WINDOW, userHash } from './error-users.js';
import type { RoutingTable } from '../core/types.js';
import { GatewayMetrics, MAX_CLOSED_WINDOWS } from './metrics.js';

/** A one-route table for service `s`: `stable` plus `canary` of release `releaseId`. */
function tableWithCanary(stable: string, canary: string, releaseId: string): RoutingTable {
  return {
    version: 1,
    routes: [
      {
        service: 's',
        match: { pathPrefix: '/' },
        stickiness: { cookie: 'tern_uid' },
        rules: [],
        stable: { version: stable, endpoints: ['http://127.0.0.1:1'] },
        canary: { version: canary, endpoints: ['http://127.0.0.1:2'], weight: 500, salt: 'x', releaseId },
      },
    ],
  };
}

describe('GatewayMetrics windows', () => {
  it('closes one-second windows aligned to the second, per version, with histograms', () => {
    let now = 10_250;
    const m = new GatewayMetrics(() => now);
    m.observe('s', 'v1', 'r1', 200, 10);
    m.observe('s', 'v1', 'r1', 503, 30);
    m.observe('s', 'v2', 'r1', 404, 20);
    m.observe('other', 'v1', null, 200, 5); // no release: Prometheus only
    assert.deepEqual(m.drainWindows(), [], 'the current second is still open');
    now = 11_100;
    m.observe('s', 'v1', 'r1', 200, 40);
    const closed = m.drainWindows();
    assert.equal(closed.length, 2);
    const v1 = closed.find((w) => w.version === 'v1')!;
    assert.deepEqual([v1.windowStart, v1.windowMs, v1.requests, v1.errors, v1.releaseId], [10_000, 1_000, 2, 1, 'r1']);
    assert.equal(totalCount(v1.latency), 2);
    assert.ok(Math.abs(quantile(v1.latency, 1)! - 30) / 30 <= 0.02);
    const v2 = closed.find((w) => w.version === 'v2')!;
    assert.deepEqual([v2.requests, v2.errors], [1, 0]);
    now = 12_000;
    assert.deepEqual(
      m.drainWindows().map((w) => [w.windowStart, w.requests]),
      [[11_000, 1]],
    );
    assert.deepEqual(m.drainWindows(), []);
    const totals = m.totals().find((t) => t.service === 's' && t.version === 'v2')!;
    assert.equal(totals.clientErrors, 1);
  });

  it('keeps a bounded number of closed windows when nobody drains them, newest first to stay', () => {
    let now = 0;
    const m = new GatewayMetrics(() => now);
    const seconds = MAX_CLOSED_WINDOWS + 2_500;
    for (let i = 0; i < seconds; i++) {
      now = i * 1_000;
      m.observe('s', 'v1', 'r1', 200, 1);
    }
    now = seconds * 1_000;
    const kept = m.drainWindows();
    assert.ok(kept.length <= MAX_CLOSED_WINDOWS, `kept ${kept.length}`);
    assert.ok(kept.length >= MAX_CLOSED_WINDOWS - 1_000, `kept only ${kept.length}`);
    assert.equal(kept.at(-1)!.windowStart, (seconds - 1) * 1_000, 'the newest window is kept');
  });

  it('exposes Prometheus series', async () => {
    const m = new GatewayMetrics();
    m.observe('s', 'v1', null, 200, 1);
    m.canaryFallback('s', 'r');
    const text = await m.prometheus();
    assert.match(text, /tern_gateway_requests_total\{service="s",role="stable",class="2xx"\} 1/);
    assert.match(text, /tern_gateway_canary_fallback_total\{service="s"\} 1/);
  });

  it('builds the duration histogram at scrape time, cumulative, summed over releases of one version', async () => {
    const m = new GatewayMetrics();
    m.observe('s', 'v1', 'r1', 200, 3); // 0.003 s
    m.observe('s', 'v1', null, 503, 30); // same version outside the release: same series
    m.observe('s', 'v1', 'r1', 200, 20_000); // beyond the last bound
    const text = await m.prometheus();
    assert.match(text, /# TYPE tern_gateway_request_duration_seconds histogram/);
    assert.match(text, /tern_gateway_request_duration_seconds_bucket\{service="s",role="stable",le="0.0025"\} 0/);
    assert.match(text, /tern_gateway_request_duration_seconds_bucket\{service="s",role="stable",le="0.005"\} 1/);
    assert.match(text, /tern_gateway_request_duration_seconds_bucket\{service="s",role="stable",le="0.05"\} 2/);
    assert.match(text, /tern_gateway_request_duration_seconds_bucket\{service="s",role="stable",le="10"\} 2/);
    assert.match(text, /tern_gateway_request_duration_seconds_bucket\{service="s",role="stable",le="\+Inf"\} 3/);
    assert.match(text, /tern_gateway_request_duration_seconds_count\{service="s",role="stable"\} 3/);
    assert.match(text, /tern_gateway_request_duration_seconds_sum\{service="s",role="stable"\} 20.033/);
    assert.match(text, /tern_gateway_requests_total\{service="s",role="stable",class="5xx"\} 1/);
  });

  it('reports the top 8 users by errors per window, tallying at most 1,000 distinct users', () => {
    let now = 5_000;
    const m = new GatewayMetrics(() => now);
    // 1,000 users with one error each fill the tally; then 10 heavy users, 7 of them already tallied.
    for (let u = 0; u < MAX_USERS_PER_WINDOW; u++) m.observe('s', 'v2', 'r1', 500, 1, `u${u}`);
    for (let u = 0; u < 10; u++) for (let i = 0; i < 10 + u; i++) m.observe('s', 'v2', 'r1', 502, 1, u < 7 ? `u${u}` : `new${u}`);
    m.observe('s', 'v2', 'r1', 200, 1, null);
    now = 6_000;
    const [w] = m.drainWindows();
    assert.equal(w?.errors, MAX_USERS_PER_WINDOW + 10 * 10 + 45);
    // Tallied users u0..u6 have 1 + 10 + u errors; new7..new9 came after the tally was full and
    // are not attributed; the eighth place goes to the first of the one-error users by hash order.
    assert.deepEqual(w?.errorUsers, { u6: 17, u5: 16, u4: 15, u3: 14, u2: 13, u1: 12, u0: 11, u10: 1 });
    assert.equal(w?.gatewayErrors, undefined);
  });

  it('counts gateway errors apart: in requests and on /metrics, never in errors or the latency', async () => {
    let now = 5_000;
    const m = new GatewayMetrics(() => now);
    m.noteTable(tableWithCanary('v1', 'v2', 'r1'));
    m.observe('s', 'v2', 'r1', 200, 3);
    m.gatewayError('s', 'v2', 'r1', 503, 1);
    m.gatewayError('s', 'v2', 'r1', 503, 1);
    now = 6_000;
    const [w] = m.drainWindows();
    assert.deepEqual([w?.requests, w?.errors, w?.gatewayErrors, totalCount(w!.latency)], [3, 0, 2, 1]);
    assert.equal(w?.errorUsers, undefined);
    const text = await m.prometheus();
    assert.match(text, /tern_gateway_gateway_errors_total\{service="s",role="canary"\} 2/);
    assert.match(text, /tern_gateway_requests_total\{service="s",role="canary",class="5xx"\} 2/);
    assert.deepEqual(
      m.totals().map((t) => [t.requests, t.errors, t.gatewayErrors]),
      [[3, 0, 2]],
    );
  });

  it('hashes user keys to 8 hex digits, the same on every replica, different per release salt', () => {
    assert.match(userHash('salt-1', 'alice'), /^[0-9a-f]{8}$/);
    assert.equal(userHash('salt-1', 'alice'), userHash('salt-1', 'alice'));
    assert.notEqual(userHash('salt-1', 'alice'), userHash('salt-2', 'alice'));
    assert.notEqual(userHash('salt-1', 'alice'), userHash('salt-1', 'bob'));
  });

  it('labels series by role, not version: one series per role across releases, the version as info', async () => {
    const m = new GatewayMetrics();
    m.noteTable(tableWithCanary('v1', 'v2', 'r1'));
    m.observe('s', 'v1', 'r1', 200, 1);
    m.observe('s', 'v2', 'r1', 500, 1);
    let text = await m.prometheus();
    assert.match(text, /tern_gateway_requests_total\{service="s",role="stable",class="2xx"\} 1/);
    assert.match(text, /tern_gateway_requests_total\{service="s",role="canary",class="5xx"\} 1/);
    assert.match(text, /tern_gateway_version_info\{service="s",role="canary",version="v2"\} 1/);
    // v2 rolled back; the next release's canary v3 adds to the same canary series.
    m.noteTable(tableWithCanary('v1', 'v3', 'r2'));
    m.observe('s', 'v3', 'r2', 500, 1);
    m.observe('s', 'v1', null, 200, 1);
    text = await m.prometheus();
    assert.match(text, /tern_gateway_requests_total\{service="s",role="canary",class="5xx"\} 2/);
    assert.match(text, /tern_gateway_requests_total\{service="s",role="stable",class="2xx"\} 2/);
    assert.match(text, /tern_gateway_version_info\{service="s",role="canary",version="v3"\} 1/);
    assert.doesNotMatch(text, /version="v2"/, 'a past version leaves no series behind');
    assert.doesNotMatch(text, /tern_gateway_requests_total\{[^}]*version=/);
  });

  it("forgets an ended release's series once its windows are drained, and /metrics never counts back", async () => {
    let now = 0;
    const m = new GatewayMetrics(() => now);
    const count = (text: string, role: string, cls: string): number =>
      Number(new RegExp(`tern_gateway_requests_total\\{service="s",role="${role}",class="${cls}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    const duration = (text: string, role: string): number =>
      Number(new RegExp(`tern_gateway_request_duration_seconds_count\\{service="s",role="${role}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    // A thousand releases, one after another, each answered while it runs and drained after.
    for (let r = 1; r <= 1_000; r++) {
      m.noteTable(tableWithCanary('v1', `v${r + 1}`, `r${r}`));
      m.observe('s', 'v1', `r${r}`, 200, 1);
      m.observe('s', `v${r + 1}`, `r${r}`, r % 2 === 0 ? 500 : 200, 1);
      now += 1_000;
      const windows = m.drainWindows();
      assert.deepEqual(
        windows.map((w) => [w.releaseId, w.version, w.requests]),
        [
          [`r${r}`, 'v1', 1],
          [`r${r}`, `v${r + 1}`, 1],
        ].sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
        'every window still reaches the push',
      );
    }
    assert.ok(m.seriesCount <= 4, `series kept after 1,000 releases: ${m.seriesCount}`);
    // The release ends (no canary in the table): its windows drain, then its series go.
    m.noteTable({ ...tableWithCanary('v1', 'v9', 'none'), routes: [{ ...tableWithCanary('v1', 'v9', 'none').routes[0]!, canary: null }] });
    m.observe('s', 'v1', null, 200, 1);
    now += 1_000;
    m.drainWindows();
    assert.equal(m.seriesCount, 1, 'only the stable series without a release is left');
    const text = await m.prometheus();
    assert.deepEqual(
      [count(text, 'stable', '2xx'), count(text, 'canary', '2xx'), count(text, 'canary', '5xx')],
      [1_001, 500, 500],
      'every request of every ended release is still counted',
    );
    assert.deepEqual([duration(text, 'stable'), duration(text, 'canary')], [1_001, 1_000]);
  });
});
