/**
 * Contract: alerts — one open alert per (release, metric) however often (or concurrently) it
 * is raised, resolution, a new alert after resolution, and alerts leaving with their service.
 */
import assert from 'node:assert/strict';
import type { AlertInput } from '../store.js';
import { auditOf, createServiceWith, moveRelease, startRelease } from './fixtures.js';
import { rejectsWithCode, suite, test } from './harness.js';
import type { StoreContext } from './harness.js';

const T = 1_700_000_000_000;

function alertInput(releaseId: string, extra: Partial<AlertInput> = {}): AlertInput {
  return { releaseId, metric: 'error-rate', threshold: 0.05, observed: 0.08, at: T, ...extra };
}

export function alertsContract(ctx: StoreContext): void {
  suite('alerts', () => {
    test('raising an open alert again updates what was observed, not when it triggered', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      const first = await ctx.store.raiseAlert(alertInput(id));
      assert.deepEqual(first, {
        id: first.id,
        releaseId: id,
        metric: 'error-rate',
        threshold: 0.05,
        observed: 0.08,
        triggeredAt: T,
        resolvedAt: null,
      });
      const again = await ctx.store.raiseAlert(alertInput(id, { observed: 0.12, at: T + 5000 }));
      assert.deepEqual(again, { ...first, observed: 0.12 });
      const latency = await ctx.store.raiseAlert(alertInput(id, { metric: 'latency-p99', threshold: 500, observed: 740, at: T + 1000 }));
      assert.notEqual(latency.id, first.id, 'another metric is another alert');
      assert.deepEqual(await ctx.store.listAlerts(id), [again, latency]);
    });

    test('resolveAlert closes the open alert; raising after that opens a new one', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      const first = await ctx.store.raiseAlert(alertInput(id));
      const other = await ctx.store.raiseAlert(alertInput(id, { metric: 'latency-p99' }));
      await ctx.store.resolveAlert(id, 'error-rate', T + 10_000);
      await ctx.store.resolveAlert(id, 'error-rate', T + 20_000); // nothing open: changes nothing
      await ctx.store.resolveAlert(id, 'feedback', T + 20_000);
      await ctx.store.resolveAlert('nope', 'error-rate', T + 20_000);
      const second = await ctx.store.raiseAlert(alertInput(id, { observed: 0.2, at: T + 30_000 }));
      assert.notEqual(second.id, first.id);
      assert.deepEqual(await ctx.store.listAlerts(id), [{ ...first, resolvedAt: T + 10_000 }, other, second]);
    });

    test('a release that ends closes its open alerts, in the same write', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      await ctx.store.raiseAlert(alertInput(id));
      await moveRelease(ctx.store, id, 'rolling_back');
      assert.equal((await ctx.store.listAlerts(id))[0]!.resolvedAt, null, 'still open while rolling back');
      const ended = await moveRelease(ctx.store, id, 'rolled_back');
      assert.deepEqual(
        (await ctx.store.listAlerts(id)).map((a) => a.resolvedAt),
        [ended.updatedAt],
      );
    });

    test('concurrent raises of one metric leave exactly one open alert', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      const raised = await Promise.all(Array.from({ length: 8 }, (_, i) => ctx.store.raiseAlert(alertInput(id, { observed: 0.1 + i }))));
      assert.equal(new Set(raised.map((a) => a.id)).size, 1);
      const alerts = await ctx.store.listAlerts(id);
      assert.equal(alerts.length, 1);
      assert.ok(
        raised.some((a) => a.observed === alerts[0]?.observed),
        'the stored value is one that was raised',
      );
    });

    test('raiseAlert refuses an unknown release; alerts go with their service', async () => {
      await rejectsWithCode(ctx.store.raiseAlert(alertInput('nope')), 'TERN_RELEASE_NOT_FOUND');
      await createServiceWith(ctx.store, 'checkout');
      const release = await startRelease(ctx.store, 'checkout');
      await ctx.store.raiseAlert(alertInput(release.id));
      await moveRelease(ctx.store, release.id, 'rolling_back', 'rolled_back');
      await ctx.store.deleteService('checkout', auditOf('service.delete', 'service/checkout'));
      assert.deepEqual(await ctx.store.listAlerts(release.id), []);
    });
  });
}
