/**
 * Contract: the routing table — its version rises with every change that affects routing and
 * only then, and its content is each service's stable version plus its active canary.
 */
import assert from 'node:assert/strict';
import type { StoreChange } from '../store.js';
import { auditOf, createServiceWith, moveRelease, startRelease } from './fixtures.js';
import { suite, test } from './harness.js';
import type { StoreContext } from './harness.js';

export function routingContract(ctx: StoreContext): void {
  suite('routing table', () => {
    test('the version rises with every routing change, and only then', async () => {
      const store = ctx.store;
      const changes: StoreChange[] = [];
      store.subscribe((c) => changes.push(c));
      let last = (await store.routingTable()).version;
      const expect = async (bumps: boolean, what: string): Promise<void> => {
        const now = (await store.routingTable()).version;
        if (bumps) assert.ok(now > last, `${what} raises the routing version (${last} -> ${now})`);
        else assert.equal(now, last, `${what} leaves the routing version alone`);
        const change = changes.at(-1);
        if (change) assert.equal(change.routingVersion, now, `${what}: the published change carries the routing version`);
        last = now;
      };
      await createServiceWith(store, 'checkout');
      await expect(true, 'createService');
      await store.updateService('checkout', { rules: [] }, auditOf('service.update', 'service/checkout'));
      await expect(true, 'updateService');
      const release = await startRelease(store, 'checkout');
      await expect(true, 'createRelease');
      await moveRelease(store, release.id, 'progressing');
      await expect(true, 'a status change');
      await store.updateRelease(release.id, (r) => ({ ...r, weight: 500 }), auditOf('release.weight', `release/${release.id}`));
      await expect(true, 'a weight change');
      await store.updateRelease(release.id, (r) => ({ ...r, stepIndex: 1 }), auditOf('release.step', `release/${release.id}`));
      await expect(true, 'a step change');
      await store.updateRelease(
        release.id,
        (r) => ({ ...r, endpoints: ['http://127.0.0.1:9102'] }),
        auditOf('release.endpoints', `release/${release.id}`),
      );
      await expect(true, 'an endpoints change');
      await store.updateRelease(
        release.id,
        (r) => ({ ...r, metadata: { note: 'x' } }),
        auditOf('release.annotate', `release/${release.id}`),
      );
      await expect(false, 'a metadata-only change');
      await store.createToken({ id: 't1', name: 'ci', role: 'deployer', secretHash: 'h1' }, auditOf('token.create', 'token/t1'));
      await expect(false, 'createToken');
      await store.addFeedback(
        { service: 'checkout', score: 5, userKey: null, version: null, releaseId: null, at: Date.now() },
        auditOf('feedback.create', 'service/checkout'),
      );
      await expect(false, 'addFeedback');
      await store.appendAudit(auditOf('release.promote', `release/${release.id}`, { outcome: 'denied' }));
      await expect(false, 'appendAudit');
      await moveRelease(store, release.id, 'rolling_back', 'rolled_back');
      await expect(true, 'a rollback');
      await store.deleteService('checkout', auditOf('service.delete', 'service/checkout'));
      await expect(true, 'deleteService');
    });

    test("each route carries the service's match rules, stable version and active canary", async () => {
      await createServiceWith(ctx.store, 'checkout');
      await createServiceWith(ctx.store, 'payments', {
        match: { host: 'pay.example' },
        rules: [],
        stable: { version: 'p1', endpoints: ['http://10.0.0.1:80'] },
      });
      const release = await startRelease(ctx.store, 'checkout');
      await moveRelease(ctx.store, release.id, 'progressing');
      await ctx.store.updateRelease(release.id, (r) => ({ ...r, weight: 500 }), auditOf('release.weight', `release/${release.id}`));

      const table = await ctx.store.routingTable();
      assert.deepEqual(
        table.routes.map((r) => r.service),
        ['checkout', 'payments'],
      );
      const [checkout, payments] = table.routes;
      assert.deepEqual(checkout, {
        service: 'checkout',
        match: { pathPrefix: '/checkout' },
        stickiness: { header: 'x-user-id', cookie: 'tern_uid' },
        rules: [{ header: 'x-tester', equals: '1', target: 'canary' }],
        stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
        canary: {
          version: 'v2',
          endpoints: ['http://127.0.0.1:9002'],
          weight: 500,
          salt: release.salt,
          releaseId: release.id,
          bucketHash: 'xxh32',
        },
      });
      assert.deepEqual(payments?.canary, null);
      assert.deepEqual(payments?.match, { host: 'pay.example' });

      await moveRelease(ctx.store, release.id, 'rolling_back');
      assert.equal((await ctx.store.routingTable()).routes[0]?.canary?.weight, 0, 'rolling back sends no one to the canary');
      await moveRelease(ctx.store, release.id, 'rolled_back');
      assert.equal((await ctx.store.routingTable()).routes[0]?.canary, null, 'an ended release has no canary');
    });

    test('after promotion the route is the new stable version alone', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const release = await startRelease(ctx.store, 'checkout');
      await moveRelease(ctx.store, release.id, 'promoting');
      assert.equal((await ctx.store.routingTable()).routes[0]?.canary?.weight, 10_000);
      await moveRelease(ctx.store, release.id, 'promoted');
      const [route] = (await ctx.store.routingTable()).routes;
      assert.deepEqual(route?.stable, { version: 'v2', endpoints: ['http://127.0.0.1:9002'] });
      assert.equal(route?.canary, null);
    });
  });
}
