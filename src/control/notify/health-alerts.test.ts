import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DATA_PLANE_LIVE_MS, type DataPlane } from '../../core/data-plane.js';
import { dataPlaneAlerts, noLeaderAlert, type LagSince, type LeaderWatch } from './health-alerts.js';

const T = 1_700_000_000_000;
const features = { regexRules: true, equalsRules: true, websocket: true, bucketHashes: ['xxh32'] };

function dp(name: string, over: Partial<DataPlane> = {}): DataPlane {
  return { name, kind: 'builtin', appliedVersion: 7, features, services: null, firstSeen: T, lastSeen: T, leftAt: null, ...over };
}

describe('dataPlaneAlerts', () => {
  it('alerts a data plane that stopped reporting while it carried routing, until it reports or leaves', () => {
    const lag: LagSince = new Map();
    const now = T + DATA_PLANE_LIVE_MS;
    const planes = [dp('gw-a', { services: ['shop', 'cart'] }), dp('gw-new', { appliedVersion: 0 }), dp('gw-left', { leftAt: T })];
    const alerts = [...dataPlaneAlerts(planes, 7, now, 30_000, lag, 'http://t/').values()];
    assert.deepEqual(
      alerts.map((a) => a.labels),
      [{ alertname: 'TernDataPlaneStale', dataplane: 'gw-a', kind: 'builtin', services: 'cart,shop', severity: 'critical' }],
      'never carried routing (version 0) and left cleanly do not alert',
    );
    assert.equal(alerts[0]?.startsAt, new Date(T + DATA_PLANE_LIVE_MS).toISOString());
    assert.equal(dataPlaneAlerts([dp('gw-a', { lastSeen: now - 1 })], 7, now, 30_000, lag, 'http://t/').size, 0, 'reported again');
    assert.equal(dataPlaneAlerts([dp('gw-a', { leftAt: now })], 7, now, 30_000, lag, 'http://t/').size, 0, 'left cleanly');
  });

  it('alerts a live data plane lagging the newest routing version for longer than the apply timeout', () => {
    const lag: LagSince = new Map();
    const behind = (at: number): DataPlane => dp('gw-b', { lastSeen: at, appliedVersion: 6 });
    assert.equal(dataPlaneAlerts([behind(T)], 7, T, 30_000, lag, '').size, 0, 'first seen behind');
    assert.equal(dataPlaneAlerts([behind(T + 29_000)], 7, T + 29_999, 30_000, lag, '').size, 0, 'within the apply timeout');
    const [alert] = dataPlaneAlerts([behind(T + 29_000)], 7, T + 30_000, 30_000, lag, '').values();
    assert.equal(alert?.labels.dataplane, 'gw-b');
    assert.match(alert?.annotations.description ?? '', /routing version 6 while the newest is 7/);
    assert.equal(dataPlaneAlerts([dp('gw-b', { lastSeen: T + 31_000 })], 7, T + 31_000, 30_000, lag, '').size, 0, 'caught up');
    assert.equal(lag.size, 0, 'forgotten once caught up');
    assert.equal(dataPlaneAlerts([behind(T + 32_000)], 8, T + 32_000, 30_000, lag, '').size, 0, 'a new lag starts its own clock');
  });
});

describe('noLeaderAlert', () => {
  it('fires once the lease has had no live holder for its TTL plus the margin, and clears when one holds it', () => {
    const watch: LeaderWatch = { noHolderSince: null };
    const ttl = 3000;
    const expired = { holder: 'controller-1', expiresAt: T + ttl, live: false };
    assert.equal(noLeaderAlert({ ...expired, live: true }, T, ttl, 5000, watch, ''), undefined, 'held');
    assert.equal(noLeaderAlert(expired, T + ttl + 4999, ttl, 5000, watch, ''), undefined, 'renewed at T: not yet TTL + margin');
    const alert = noLeaderAlert(expired, T + ttl + 5000, ttl, 5000, watch, '');
    assert.deepEqual(alert?.labels, { alertname: 'TernNoControllerLeader', severity: 'critical' });
    assert.match(alert?.annotations.description ?? '', /controller-1 last renewed the lease/);
    assert.equal(noLeaderAlert({ holder: 'controller-2', expiresAt: T + 20_000, live: true }, T + 10_000, ttl, 5000, watch, ''), undefined);
    assert.equal(watch.noHolderSince, null);
  });

  it('counts a missing lease from when it was first seen missing', () => {
    const watch: LeaderWatch = { noHolderSince: null };
    assert.equal(noLeaderAlert(undefined, T, 3000, 5000, watch, ''), undefined);
    assert.equal(noLeaderAlert(undefined, T + 4999, 3000, 5000, watch, ''), undefined);
    assert.ok(noLeaderAlert(undefined, T + 5000, 3000, 5000, watch, ''));
  });
});
