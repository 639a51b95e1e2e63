import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POOL_SETTINGS, EndpointRegistry, isAvailable } from './endpoints.js';
import { recordCheck, recordFailure, recordSuccess } from './health.js';

describe('outlier ejection', () => {
  const registry = new EndpointRegistry(DEFAULT_POOL_SETTINGS);
  after(() => registry.destroyAll());
  const settings = { consecutiveFailures: 3, baseEjectionMs: 1_000, maxEjectionMs: 4_000 };

  it('ejects after N consecutive failures, for a time that doubles and is capped', () => {
    const e = registry.acquire('http://127.0.0.1:7001');
    let now = 0;
    const durations: number[] = [];
    for (let round = 0; round < 4; round++) {
      assert.equal(recordFailure(e, now, settings), false);
      assert.equal(recordFailure(e, now, settings), false);
      assert.equal(recordFailure(e, now, settings), true);
      assert.equal(isAvailable(e, now), false);
      durations.push(e.health.ejectedUntil - now);
      now = e.health.ejectedUntil;
      assert.equal(isAvailable(e, now), true);
    }
    assert.deepEqual(durations, [1_000, 2_000, 4_000, 4_000]);
  });

  it('needs the failures to be consecutive', () => {
    const e = registry.acquire('http://127.0.0.1:7002');
    recordFailure(e, 0, settings);
    recordFailure(e, 0, settings);
    recordSuccess(e);
    assert.equal(recordFailure(e, 0, settings), false);
    assert.equal(isAvailable(e, 0), true);
  });

  it('forgets earlier ejections after a long good spell', () => {
    const e = registry.acquire('http://127.0.0.1:7003');
    for (let i = 0; i < 3; i++) recordFailure(e, 0, settings);
    for (let i = 0; i < 3; i++) recordFailure(e, 100_000, settings);
    assert.equal(e.health.ejectedUntil - 100_000, 1_000);
  });
});

describe('active checks', () => {
  const registry = new EndpointRegistry(DEFAULT_POOL_SETTINGS);
  after(() => registry.destroyAll());
  const settings = { path: '/h', intervalMs: 1, timeoutMs: 1, healthyThreshold: 2, unhealthyThreshold: 3 };

  it('flips only after the threshold of consecutive outcomes', () => {
    const e = registry.acquire('http://127.0.0.1:7004');
    assert.equal(recordCheck(e, false, settings), null);
    assert.equal(recordCheck(e, false, settings), null);
    assert.equal(recordCheck(e, true, settings), null); // streak broken
    for (let i = 0; i < 2; i++) recordCheck(e, false, settings);
    assert.equal(recordCheck(e, false, settings), false);
    assert.equal(isAvailable(e, 0), false);
    assert.equal(recordCheck(e, true, settings), null);
    assert.equal(recordCheck(e, true, settings), true);
    assert.equal(isAvailable(e, 0), true);
  });
});
