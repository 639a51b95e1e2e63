import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyState, carries, DATA_PLANE_LIVE_MS, dataPlaneState, holdStart, liveCarriers, type DataPlane } from './data-plane.js';
import type { Release } from './types.js';

const T = 1_800_000_000_000;
const FEATURES = { regexRules: false, equalsRules: true, websocket: true, bucketHashes: ['xxh32'] };

function dp(name: string, extra: Partial<DataPlane> = {}): DataPlane {
  return {
    name,
    kind: 'haproxy',
    appliedVersion: 7,
    features: FEATURES,
    services: null,
    firstSeen: T,
    lastSeen: T,
    leftAt: null,
    ...extra,
  };
}

const release = { service: 'checkout', weight: 2500, routingVersion: 7, stepStartedAt: T, stepAppliedAt: null } as unknown as Release;

describe('data planes (pure rules)', () => {
  it('is live under 20 s after its last report, then stale; left after a clean stop', () => {
    assert.equal(dataPlaneState(dp('a'), T + DATA_PLANE_LIVE_MS - 1), 'live');
    assert.equal(dataPlaneState(dp('a'), T + DATA_PLANE_LIVE_MS), 'stale');
    assert.equal(dataPlaneState(dp('a', { leftAt: T }), T), 'left');
  });

  it('carries every service when its list is null, else only the listed ones', () => {
    assert.equal(carries(dp('a'), 'x'), true);
    assert.equal(carries(dp('a', { services: ['y'] }), 'x'), false);
    assert.deepEqual(
      liveCarriers([dp('b'), dp('a'), dp('c', { services: ['y'] }), dp('d', { lastSeen: T - DATA_PLANE_LIVE_MS })], 'checkout', T).map(
        (d) => d.name,
      ),
      ['a', 'b'],
    );
  });

  it('is applied once every live carrier reports the version, waiting before, overdue at the deadline', () => {
    assert.equal(applyState(release, [dp('a'), dp('b', { appliedVersion: 9 })], T, T, 30_000).kind, 'applied');
    assert.deepEqual(applyState(release, [], T, T, 30_000), {
      kind: 'applied',
      by: [],
      reason: 'weight 25% (routing version 7): no live data plane; the hold starts now',
    });
    const behind = [dp('a', { appliedVersion: 6 }), dp('b'), dp('c', { appliedVersion: 3 })];
    assert.deepEqual(
      applyState(
        release,
        behind.map((d) => ({ ...d, lastSeen: T + 29_000 })),
        T + 29_999,
        T,
        30_000,
      ),
      {
        kind: 'waiting',
        pending: ['a', 'c'],
        reason: 'waiting for data plane(s) a, c to apply weight 25% (routing version 7)',
      },
    );
    const overdue = applyState(
      release,
      behind.map((d) => ({ ...d, lastSeen: T + 30_000 })),
      T + 30_000,
      T,
      30_000,
    );
    assert.equal(overdue.kind, 'overdue');
    assert.match(overdue.reason, /^data plane\(s\) a, c did not apply weight 25% \(routing version 7\) within 30 s/);
  });

  it('holds from the applied time, else from the step start', () => {
    assert.equal(holdStart({ stepStartedAt: T, stepAppliedAt: T + 5 }), T + 5);
    assert.equal(holdStart({ stepStartedAt: T }), T);
  });
});
