/**
 * A MetricSource's windows in a real store (in-memory SQLite): stored under the source's name,
 * a repeated drain — a push retried after its answer was lost — counts once, and another
 * gateway's windows of the same second add to it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { totalCount } from '../src/core/latency-histogram.js';
import { GatewayMetrics } from '../src/gateway/metrics.js';
import { builtinMetricSource } from '../src/providers/metrics/builtin.js';
import { createServiceWith, startRelease } from '../src/store/contract/fixtures.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';

const T = 1_700_000_000_000;

describe('MetricSource windows in the store', () => {
  it('the built-in source: a repeated drain counts once, another gateway adds', async () => {
    const store = await openSqliteStore({ file: ':memory:' });
    try {
      await createServiceWith(store, 'shop');
      const { id } = await startRelease(store, 'shop');
      let now = T;
      const sources = ['gw-a', 'gw-b'].map((name) => {
        const metrics = new GatewayMetrics(() => now);
        for (let i = 0; i < (name === 'gw-a' ? 30 : 12); i++) metrics.observe('shop', 'v2', id, 200, 20);
        return builtinMetricSource({ name, metrics });
      });
      now = T + 1_000;
      for (const source of sources) {
        const windows = source.drainWindows(now);
        await store.appendMetricWindows(source.name, windows);
        await store.appendMetricWindows(source.name, windows);
      }
      const [w] = await store.listMetricWindows(id);
      assert.deepEqual([w?.requests, totalCount(w?.latency ?? {})], [42, 42]);
    } finally {
      await store.close();
    }
  });
});
