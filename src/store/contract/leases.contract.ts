/**
 * Contract: leases (controller leadership) on a stopped clock — one holder at a time,
 * renewal, takeover only after expiry, release, and racing acquirers with a single winner.
 */
import assert from 'node:assert/strict';
import { rejectsWithCode, suite, test } from './harness.js';
import type { StoreContext } from './harness.js';

const T = 1_700_000_000_000;
const TTL = 10_000;

export function leasesContract(ctx: StoreContext): void {
  suite('leases', () => {
    test('one holder at a time; renewal extends it; another takes over only once it expired', async () => {
      const { store, clock } = ctx;
      clock.set(T);
      assert.equal(await store.acquireLease('controller', 'a', TTL), true, 'a takes the free lease');
      assert.equal(await store.acquireLease('controller', 'b', TTL), false, 'b cannot while a holds it');
      assert.equal(await store.acquireLease('other', 'b', TTL), true, 'leases are independent by name');
      clock.advance(TTL - 1);
      assert.equal(await store.acquireLease('controller', 'a', TTL), true, 'a renews before expiry');
      clock.advance(TTL - 1); // past a's first expiry, within its renewal
      assert.equal(await store.acquireLease('controller', 'b', TTL), false, 'renewal moved the expiry');
      clock.advance(1); // exactly at expiry
      assert.equal(await store.acquireLease('controller', 'b', TTL), true, 'b takes over the expired lease');
      assert.equal(await store.acquireLease('controller', 'a', TTL), false, 'a lost it');
      assert.equal(await store.acquireLease('controller', 'b', TTL), true, 'b renews');
    });

    test('releaseLease frees the lease for another holder at once; a non-holder cannot release it', async () => {
      const { store, clock } = ctx;
      clock.set(T);
      assert.equal(await store.acquireLease('controller', 'a', TTL), true);
      await store.releaseLease('controller', 'b');
      assert.equal(await store.acquireLease('controller', 'b', TTL), false, "b's release did nothing");
      await store.releaseLease('controller', 'a');
      await store.releaseLease('controller', 'a');
      await store.releaseLease('never-taken', 'a');
      assert.equal(await store.acquireLease('controller', 'b', TTL), true, 'free after release, before expiry');
    });

    test('readLease shows the holder and whether the lease is live, without taking it', async () => {
      const { store, clock } = ctx;
      clock.set(T);
      assert.equal(await store.readLease('controller'), undefined, 'never taken');
      assert.equal(await store.acquireLease('controller', 'a', TTL), true);
      assert.deepEqual(await store.readLease('controller'), { holder: 'a', expiresAt: T + TTL, live: true });
      clock.advance(TTL);
      assert.deepEqual(await store.readLease('controller'), { holder: 'a', expiresAt: T + TTL, live: false }, 'expired, still a');
      assert.equal(await store.acquireLease('controller', 'b', TTL), true, 'reading took nothing: b can take it over');
      await store.releaseLease('controller', 'b');
      assert.equal(await store.readLease('controller'), undefined, 'released');
    });

    test('racing acquirers of a free lease: exactly one wins', async () => {
      ctx.clock.set(T);
      const holders = ['a', 'b', 'c', 'd', 'e'];
      const won = await Promise.all(holders.map((h) => ctx.store.acquireLease('controller', h, TTL)));
      assert.equal(won.filter(Boolean).length, 1);
      const winner = holders[won.indexOf(true)] ?? '';
      assert.equal(await ctx.store.acquireLease('controller', winner, TTL), true);
    });

    test('a ttl that is not a positive number is refused', async () => {
      for (const ttl of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
        const error = await rejectsWithCode(ctx.store.acquireLease('controller', 'a', ttl), 'TERN_INVALID_REQUEST');
        assert.equal(error.details?.['field'], 'ttlMs');
      }
      assert.equal(await ctx.store.acquireLease('controller', 'a', TTL), true, 'nothing was taken by the refused calls');
    });
  });
}
