/**
 * Contract: change notifications and closing — listeners hear each change after it commits,
 * a faulty listener harms nothing, and close() lets started writes finish.
 */
import assert from 'node:assert/strict';
import type { Service } from '../../core/types.js';
import type { StoreChange } from '../store.js';
import { auditOf, createServiceWith, serviceInput, startRelease } from './fixtures.js';
import { rejectsWithCode, suite, test } from './harness.js';
import type { StoreContext } from './harness.js';

export function lifecycleContract(ctx: StoreContext): void {
  suite('notifications and close', () => {
    test('listeners hear each committed change with its audit event and routing version', async () => {
      const heard: StoreChange[] = [];
      const seen: Promise<Service | undefined>[] = [];
      ctx.store.subscribe((change) => {
        heard.push(change);
        // What a listener reads back is already committed.
        if (change.kind === 'service') seen.push(ctx.store.getService(change.id));
      });
      await createServiceWith(ctx.store, 'checkout');
      const release = await startRelease(ctx.store, 'checkout');
      await ctx.store.createToken({ id: 't1', name: 'ci', role: 'deployer', secretHash: 'h' }, auditOf('token.create', 'token/t1'));
      const audit = (await ctx.store.listAudit({})).reverse();
      const routing = (await ctx.store.routingTable()).version;
      assert.deepEqual(heard, [
        { kind: 'service', action: 'service.create', id: 'checkout', service: 'checkout', routingVersion: routing - 1, audit: audit[0] },
        { kind: 'release', action: 'release.create', id: release.id, service: 'checkout', routingVersion: routing, audit: audit[1] },
        { kind: 'token', action: 'token.create', id: 't1', service: null, routingVersion: routing, audit: audit[2] },
      ]);
      assert.equal((await Promise.all(seen))[0]?.name, 'checkout');
    });

    test('a throwing listener breaks neither the change nor the other listeners; unsubscribe stops delivery', async () => {
      const heard: string[] = [];
      ctx.store.subscribe(() => {
        throw new Error('listener bug');
      });
      const unsubscribe = ctx.store.subscribe((c) => heard.push(c.id));
      await createServiceWith(ctx.store, 'checkout');
      assert.ok(await ctx.store.getService('checkout'));
      unsubscribe();
      await createServiceWith(ctx.store, 'payments');
      assert.deepEqual(heard, ['checkout']);
    });

    test('close lets started writes finish; later calls fail with TERN_STORE_UNAVAILABLE', async () => {
      const write = ctx.store.createService(serviceInput('checkout'), auditOf('service.create', 'service/checkout'));
      await ctx.store.close();
      assert.equal((await write).name, 'checkout');
      await rejectsWithCode(ctx.store.listServices(), 'TERN_STORE_UNAVAILABLE');
      await ctx.store.close();
    });
  });
}
