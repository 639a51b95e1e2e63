/**
 * The built-in gateway as a MetricSource: a real GatewayMetrics on a fake clock, its windows
 * drained through the adapter (test/metric-source-store.test.ts stores them).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { totalCount } from '../../core/latency-histogram.js';
import { GatewayMetrics } from '../../gateway/metrics.js';
import { builtinMetricSource } from './builtin.js';

const T = 1_700_000_000_000;

describe('builtinMetricSource', () => {
  it("drains the gateway's closed windows once each, under the gateway's name", async () => {
    let now = T + 100;
    const metrics = new GatewayMetrics(() => now);
    const source = builtinMetricSource({ name: 'host-a:1234:8080', metrics });
    assert.equal(source.name, 'host-a:1234:8080');
    for (let i = 0; i < 20; i++) metrics.observe('shop', 'v2', 'rel-1', i < 3 ? 503 : 200, 10 + i);
    metrics.observe('shop', 'v1', null, 200, 5); // no release in progress: no window
    assert.deepEqual(source.drainWindows(now), [], 'the current second is still open');
    now = T + 1_200;
    const [w, ...rest] = source.drainWindows(now);
    assert.equal(rest.length, 0);
    assert.deepEqual([w?.releaseId, w?.version, w?.windowStart, w?.windowMs, w?.requests, w?.errors], ['rel-1', 'v2', T, 1000, 20, 3]);
    assert.equal(totalCount(w?.latency ?? {}), 20, 'every request timed');
    assert.equal(w?.latencySampleRate, undefined);
    assert.deepEqual(source.drainWindows(now), [], 'each window once');
    metrics.observe('shop', 'v2', 'rel-1', 200, 1);
    await source.close();
    now = T + 5_000;
    assert.deepEqual(source.drainWindows(now), [], 'a closed source delivers nothing');
  });

  it('refuses a name a metrics push could not carry', () => {
    const metrics = new GatewayMetrics();
    assert.throws(() => builtinMetricSource({ name: '', metrics }), { code: 'TERN_INVALID_REQUEST' });
    assert.throws(() => builtinMetricSource({ name: 'x'.repeat(129), metrics }), { code: 'TERN_INVALID_REQUEST' });
  });
});
