/**
 * Contract: the data-plane registry — status reports upserted by name (first seen kept, last
 * seen moving, leaving and coming back), cheap (no audit event, no routing bump) — and how a
 * release's written weight waits for live data planes carrying its service.
 */
import assert from 'node:assert/strict';
import type { DataPlaneReport } from '../../core/data-plane.js';
import { DATA_PLANE_LIVE_MS } from '../../core/data-plane.js';
import { auditCount, auditOf, createServiceWith, moveRelease, startRelease } from './fixtures.js';
import { suite, test } from './harness.js';
import type { StoreContext } from './harness.js';

const T = 1_800_000_000_000;
const FEATURES = { regexRules: false, equalsRules: true, websocket: true, bucketHashes: ['xxh32'] };

function report(name: string, extra: Partial<DataPlaneReport> = {}): DataPlaneReport {
  return { name, kind: 'haproxy', appliedVersion: 0, features: FEATURES, services: null, ...extra };
}

export function dataPlanesContract(ctx: StoreContext): void {
  suite('data planes', () => {
    test('a report is an upsert by name: first seen kept, last seen and applied version move, nothing audited or bumped', async () => {
      const { store, clock } = ctx;
      clock.set(T);
      const version = (await store.routingTable()).version;
      const audits = await auditCount(store);
      assert.deepEqual(await store.reportDataPlane(report('edge-1', { appliedVersion: 3 })), {
        routingVersion: version,
        firstReport: true,
      });
      clock.advance(5000);
      assert.deepEqual(await store.reportDataPlane(report('edge-1', { appliedVersion: 4, services: ['checkout'] })), {
        routingVersion: version,
        firstReport: false,
      });
      await store.reportDataPlane(report('agent-0', { kind: 'nginx' }));
      assert.deepEqual(await store.listDataPlanes(), [
        {
          name: 'agent-0',
          kind: 'nginx',
          appliedVersion: 0,
          features: FEATURES,
          services: null,
          firstSeen: T + 5000,
          lastSeen: T + 5000,
          leftAt: null,
        },
        {
          name: 'edge-1',
          kind: 'haproxy',
          appliedVersion: 4,
          features: FEATURES,
          services: ['checkout'],
          firstSeen: T,
          lastSeen: T + 5000,
          leftAt: null,
        },
      ]);
      assert.equal(await auditCount(store), audits, 'heartbeats write no audit events');
      assert.equal((await store.routingTable()).version, version, 'nor bump the routing version');
    });

    test('leaving marks a data plane left; a later report brings it back', async () => {
      const { store, clock } = ctx;
      clock.set(T);
      await store.reportDataPlane(report('edge-1'));
      clock.advance(1000);
      await store.reportDataPlane(report('edge-1', { leaving: true }));
      assert.equal((await store.listDataPlanes())[0]?.leftAt, T + 1000);
      clock.advance(1000);
      await store.reportDataPlane(report('edge-1', { appliedVersion: 2 }));
      const [back] = await store.listDataPlanes();
      assert.equal(back?.leftAt, null);
      assert.equal(back?.firstSeen, T);
    });

    test('a weight written while a live data plane carries the service waits for it; stale, left or elsewhere ones do not count', async () => {
      const { store, clock } = ctx;
      clock.set(T);
      await createServiceWith(store, 'checkout');
      await store.reportDataPlane(report('other', { services: ['search'] }));
      await store.reportDataPlane(report('gone', { leaving: true }));
      const release = await moveRelease(store, (await startRelease(store, 'checkout', { startedAt: T })).id, 'progressing');
      assert.equal(release.stepAppliedAt, T, 'no live carrier: the hold starts at the write');

      await store.reportDataPlane(report('edge-1', { services: ['checkout'] }));
      const stepped = await store.updateRelease(
        release.id,
        (r) => ({ ...r, stepIndex: 1, weight: 5000 }),
        auditOf('release.advance', `release/${release.id}`),
      );
      assert.equal(stepped.stepAppliedAt, null, 'edge-1 must confirm the new weight first');
      assert.equal(stepped.routingVersion, (await store.routingTable()).version, 'the routing version written with the weight');
      assert.deepEqual(await store.getRelease(release.id), stepped);

      const confirmed = await store.updateRelease(
        release.id,
        (r) => ({ ...r, stepAppliedAt: T + 2000 }),
        auditOf('release.applied', `release/${release.id}`),
      );
      assert.equal(confirmed.stepAppliedAt, T + 2000);
      assert.equal(confirmed.routingVersion, stepped.routingVersion, 'confirming moves no routing version');
      assert.equal((await store.routingTable()).version, stepped.routingVersion);

      clock.advance(DATA_PLANE_LIVE_MS);
      const again = await store.updateRelease(
        release.id,
        (r) => ({ ...r, stepIndex: 2, weight: 10000 }),
        auditOf('release.advance', `release/${release.id}`),
      );
      assert.equal(again.stepAppliedAt, again.stepStartedAt, 'edge-1 went stale: nobody to wait for');
      assert.ok((again.routingVersion ?? 0) > (stepped.routingVersion ?? 0));
    });
  });
}
