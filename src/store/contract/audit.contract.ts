/**
 * Contract: the audit log — events that changed no state, newest-first listing with filters
 * and page limits, and history that later changes never rewrite.
 */
import assert from 'node:assert/strict';
import { auditOf, createServiceWith, moveRelease, startRelease } from './fixtures.js';
import { suite, test } from './harness.js';
import type { StoreContext } from './harness.js';

export function auditContract(ctx: StoreContext): void {
  suite('audit log', () => {
    test('appendAudit records an event that changed no state', async () => {
      const before = Date.now();
      const event = await ctx.store.appendAudit(
        auditOf('release.promote', 'release/r1', {
          outcome: 'denied',
          actor: 'token:viewer',
          reason: 'role viewer may not promote',
          service: 'checkout',
        }),
      );
      assert.equal(typeof event.id, 'number');
      assert.ok(event.at >= before);
      assert.equal(event.service, 'checkout');
      assert.deepEqual(await ctx.store.listAudit({}), [event]);
      const anonymous = await ctx.store.appendAudit(
        auditOf('auth.login', 'api', { outcome: 'denied', actor: 'anonymous', detail: { path: '/api/v1/services' } }),
      );
      assert.equal(anonymous.service, null);
      assert.deepEqual(anonymous.detail, { path: '/api/v1/services' });
      assert.ok(anonymous.id > event.id);
    });

    test('listAudit is newest first and filters by service, actor, action, since and before', async () => {
      const add = (action: string, at: number, extra: { actor?: string; service?: string } = {}) =>
        ctx.store.appendAudit(auditOf(action, 'x', { at, ...extra }));
      const a = await add('service.create', 100, { service: 'checkout' });
      const b = await add('release.create', 200, { service: 'checkout', actor: 'token:bob' });
      const c = await add('service.create', 300, { service: 'payments' });
      const d = await add('token.create', 400);
      const ids = async (filter: Parameters<typeof ctx.store.listAudit>[0]): Promise<number[]> =>
        (await ctx.store.listAudit(filter)).map((e) => e.id);
      assert.deepEqual(await ids({}), [d.id, c.id, b.id, a.id]);
      assert.deepEqual(await ids({ service: 'checkout' }), [b.id, a.id]);
      assert.deepEqual(await ids({ actor: 'token:bob' }), [b.id]);
      assert.deepEqual(await ids({ action: 'service.create' }), [c.id, a.id]);
      assert.deepEqual(await ids({ since: 200 }), [d.id, c.id, b.id]);
      assert.deepEqual(await ids({ before: c.id }), [b.id, a.id]);
      assert.deepEqual(await ids({ before: c.id, limit: 1 }), [b.id]);
      assert.deepEqual(await ids({ service: 'checkout', since: 150, actor: 'token:ci' }), []);
    });

    test('listAudit returns 100 events by default and at most 1000', async () => {
      await Promise.all(Array.from({ length: 1005 }, (_, i) => ctx.store.appendAudit(auditOf('load.test', `n/${i}`))));
      assert.equal((await ctx.store.listAudit({})).length, 100);
      assert.equal((await ctx.store.listAudit({ limit: 5000 })).length, 1000);
      assert.equal((await ctx.store.listAudit({ limit: 7 })).length, 7);
    });

    test('later changes never rewrite or remove earlier events', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const release = await startRelease(ctx.store, 'checkout');
      await moveRelease(ctx.store, release.id, 'progressing');
      const earlier = await ctx.store.listAudit({});
      await moveRelease(ctx.store, release.id, 'rolling_back', 'rolled_back');
      await ctx.store.deleteService('checkout', auditOf('service.delete', 'service/checkout'));
      const later = await ctx.store.listAudit({});
      assert.deepEqual(later.slice(3), earlier);
      assert.deepEqual(
        later.slice(0, 3).map((e) => e.action),
        ['service.delete', 'release.rolled_back', 'release.rolling_back'],
      );
    });

    test('listAuditForExport is oldest first, pages by id and filters by time', async () => {
      const add = (at: number) => ctx.store.appendAudit(auditOf('export.test', 'x', { at }));
      const a = await add(100);
      const b = await add(200);
      const c = await add(300);
      const ids = async (range: Parameters<typeof ctx.store.listAuditForExport>[0]) =>
        (await ctx.store.listAuditForExport(range)).map((e) => e.id);
      assert.deepEqual(await ids({}), [a.id, b.id, c.id]);
      assert.deepEqual(await ids({ afterId: a.id, limit: 1 }), [b.id]);
      assert.deepEqual(await ids({ since: 200 }), [b.id, c.id]);
      assert.deepEqual(await ids({ until: 300 }), [a.id, b.id]);
    });

    test('pruneAudit removes only old events that an export has covered; the mark never goes back', async () => {
      const add = (at: number) => ctx.store.appendAudit(auditOf('prune.test', 'x', { at }));
      const a = await add(100);
      const b = await add(200);
      const c = await add(300);
      assert.equal(await ctx.store.auditExportMark(), 0);
      assert.equal(await ctx.store.pruneAudit(1_000), 0, 'nothing exported, nothing pruned');
      assert.equal(await ctx.store.markAuditExported(b.id), b.id);
      assert.equal(await ctx.store.markAuditExported(a.id), b.id, 'the mark never moves back');
      assert.equal(await ctx.store.pruneAudit(150), 1, 'only events older than the retention');
      assert.deepEqual(
        (await ctx.store.listAudit({})).map((e) => e.id),
        [c.id, b.id],
      );
      assert.equal(await ctx.store.pruneAudit(1_000), 1, 'c has not been exported');
      assert.deepEqual(
        (await ctx.store.listAudit({})).map((e) => e.id),
        [c.id],
      );
    });
  });
}
