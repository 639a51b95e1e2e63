import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { quantile, totalCount } from '../core/latency-histogram.js';
import { GatewayMetrics, MAX_CLOSED_WINDOWS } from './metrics.js';

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
    assert.match(text, /tern_gateway_requests_total\{service="s",version="v1",class="2xx"\} 1/);
    assert.match(text, /tern_gateway_canary_fallback_total\{service="s"\} 1/);
  });

  it('builds the duration histogram at scrape time, cumulative, summed over releases of one version', async () => {
    const m = new GatewayMetrics();
    m.observe('s', 'v1', 'r1', 200, 3); // 0.003 s
    m.observe('s', 'v1', null, 503, 30); // same version outside the release: same series
    m.observe('s', 'v1', 'r1', 200, 20_000); // beyond the last bound
    const text = await m.prometheus();
    assert.match(text, /# TYPE tern_gateway_request_duration_seconds histogram/);
    assert.match(text, /tern_gateway_request_duration_seconds_bucket\{service="s",version="v1",le="0.0025"\} 0/);
    assert.match(text, /tern_gateway_request_duration_seconds_bucket\{service="s",version="v1",le="0.005"\} 1/);
    assert.match(text, /tern_gateway_request_duration_seconds_bucket\{service="s",version="v1",le="0.05"\} 2/);
    assert.match(text, /tern_gateway_request_duration_seconds_bucket\{service="s",version="v1",le="10"\} 2/);
    assert.match(text, /tern_gateway_request_duration_seconds_bucket\{service="s",version="v1",le="\+Inf"\} 3/);
    assert.match(text, /tern_gateway_request_duration_seconds_count\{service="s",version="v1"\} 3/);
    assert.match(text, /tern_gateway_request_duration_seconds_sum\{service="s",version="v1"\} 20.033/);
    assert.match(text, /tern_gateway_requests_total\{service="s",version="v1",class="5xx"\} 1/);
  });
});
