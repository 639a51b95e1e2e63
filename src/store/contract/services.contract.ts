/**
 * Contract: services — create, read, update, delete, each with its audit event in the same
 * transaction, and the rules that tie services to releases.
 */
import assert from 'node:assert/strict';
import { auditCount, auditOf, createServiceWith, metricWindow, moveRelease, serviceInput, startRelease } from './fixtures.js';
import { rejectsWithCode, suite, test } from './harness.js';
import type { StoreContext } from './harness.js';

export function servicesContract(ctx: StoreContext): void {
  suite('services', () => {
    test('createService stores the service and its audit event', async () => {
      const before = Date.now();
      const created = await ctx.store.createService(serviceInput('checkout'), auditOf('service.create', 'service/checkout'));
      const after = Date.now();
      assert.ok(created.createdAt >= before && created.createdAt <= after);
      assert.equal(created.updatedAt, created.createdAt);
      assert.deepEqual(await ctx.store.getService('checkout'), created);
      const events = await ctx.store.listAudit({ service: 'checkout' });
      assert.equal(events.length, 1);
      const [event] = events;
      assert.equal(event?.action, 'service.create');
      assert.equal(event?.service, 'checkout');
      assert.ok(event !== undefined && event.at >= before && event.at <= after, 'the store fills the audit time');
    });

    test('a service reads back its metric source: builtin when none was declared, a Prometheus source as written', async () => {
      await createServiceWith(ctx.store, 'plain');
      assert.deepEqual((await ctx.store.getService('plain'))?.metrics, { source: 'builtin' });
      const metrics = {
        source: 'prometheus' as const,
        prometheus: {
          url: 'http://prometheus:9090',
          template: 'istio' as const,
          params: { namespace: 'shop' },
          queries: { errors: 'sum(istio_requests_total{destination_version="$version",response_code=~"5.."})' },
          scrapeIntervalMs: 5000,
        },
      };
      await createServiceWith(ctx.store, 'meshed', { metrics });
      assert.deepEqual((await ctx.store.getService('meshed'))?.metrics, metrics);
      const back = await ctx.store.updateService('meshed', { metrics: { source: 'builtin' } }, auditOf('service.update', 'service/meshed'));
      assert.deepEqual(back.metrics, { source: 'builtin' });
      assert.deepEqual((await ctx.store.getService('meshed'))?.metrics, { source: 'builtin' });
      const kept = await ctx.store.updateService('plain', { match: { host: 'plain.example' } }, auditOf('service.update', 'service/plain'));
      assert.deepEqual(kept.metrics, { source: 'builtin' }, 'a patch without metrics keeps them');
    });

    test('the audit time the caller gives is kept', async () => {
      await ctx.store.createService(serviceInput('checkout'), auditOf('service.create', 'service/checkout', { at: 1234 }));
      assert.equal((await ctx.store.listAudit({}))[0]?.at, 1234);
    });

    test('createService refuses a duplicate name and writes nothing', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const version = (await ctx.store.routingTable()).version;
      const other = serviceInput('checkout', { stable: { version: 'v9', endpoints: ['http://10.0.0.9:80'] } });
      await rejectsWithCode(ctx.store.createService(other, auditOf('service.create', 'service/checkout')), 'TERN_SERVICE_EXISTS');
      assert.equal((await ctx.store.getService('checkout'))?.stable.version, 'v1');
      assert.equal(await auditCount(ctx.store), 1);
      assert.equal((await ctx.store.routingTable()).version, version);
    });

    test('listServices returns every service by name; getService of an unknown name is undefined', async () => {
      await createServiceWith(ctx.store, 'payments');
      await createServiceWith(ctx.store, 'checkout');
      assert.deepEqual(
        (await ctx.store.listServices()).map((s) => s.name),
        ['checkout', 'payments'],
      );
      assert.equal(await ctx.store.getService('nope'), undefined);
    });

    test('updateService applies a patch with its audit event', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const created = await ctx.store.getService('checkout');
      const updated = await ctx.store.updateService(
        'checkout',
        { match: { host: 'checkout.example' }, rules: [] },
        auditOf('service.update', 'service/checkout'),
      );
      assert.deepEqual(updated.match, { host: 'checkout.example' });
      assert.deepEqual(updated.rules, []);
      assert.deepEqual(updated.stable, created?.stable);
      assert.equal(updated.createdAt, created?.createdAt);
      assert.ok(created && updated.updatedAt >= created.updatedAt);
      assert.deepEqual(await ctx.store.getService('checkout'), updated);
      assert.equal(await auditCount(ctx.store, { action: 'service.update', service: 'checkout' }), 1);
    });

    test('updateService of an unknown service fails and writes nothing', async () => {
      await rejectsWithCode(
        ctx.store.updateService('nope', { rules: [] }, auditOf('service.update', 'service/nope')),
        'TERN_SERVICE_NOT_FOUND',
      );
      assert.equal(await auditCount(ctx.store), 0);
    });

    test('the stable version changes only by promotion while a release is active', async () => {
      await createServiceWith(ctx.store, 'checkout');
      await startRelease(ctx.store, 'checkout');
      const stable = { version: 'v1.1', endpoints: ['http://127.0.0.1:9003'] };
      await rejectsWithCode(
        ctx.store.updateService('checkout', { stable }, auditOf('service.update', 'service/checkout')),
        'TERN_RELEASE_ACTIVE',
      );
      assert.equal((await ctx.store.getService('checkout'))?.stable.version, 'v1');
      // Other fields, and restating the same stable version, remain editable.
      const same = (await ctx.store.getService('checkout'))?.stable;
      assert.ok(same);
      const updated = await ctx.store.updateService('checkout', { stable: same, rules: [] }, auditOf('service.update', 'service/checkout'));
      assert.deepEqual(updated.rules, []);
      assert.equal(await auditCount(ctx.store, { action: 'service.update' }), 1);
    });

    test('deleteService removes the service and its history; its audit events stay', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const release = await startRelease(ctx.store, 'checkout');
      await ctx.store.appendMetricWindows('gw-a', [metricWindow(release.id, 'v2', 1_000_000)]);
      await ctx.store.addFeedback(
        { service: 'checkout', score: 4, userKey: 'u1', version: 'v2', releaseId: release.id, at: Date.now() },
        auditOf('feedback.create', 'service/checkout'),
      );
      await moveRelease(ctx.store, release.id, 'rolling_back', 'rolled_back');
      const history = await ctx.store.listAudit({ service: 'checkout' });

      await ctx.store.deleteService('checkout', auditOf('service.delete', 'service/checkout'));
      assert.equal(await ctx.store.getService('checkout'), undefined);
      assert.equal(await ctx.store.getRelease(release.id), undefined);
      assert.deepEqual(await ctx.store.listReleases({ service: 'checkout' }), []);
      assert.deepEqual(await ctx.store.listMetricWindows(release.id), []);
      const after = await ctx.store.listAudit({ service: 'checkout' });
      assert.equal(after[0]?.action, 'service.delete');
      assert.deepEqual(after.slice(1), history);

      // Nothing is left behind: the name can start over.
      await createServiceWith(ctx.store, 'checkout');
      await startRelease(ctx.store, 'checkout');
    });

    test('deleteService refuses while a release is active, and for an unknown service', async () => {
      await createServiceWith(ctx.store, 'checkout');
      await startRelease(ctx.store, 'checkout');
      await rejectsWithCode(ctx.store.deleteService('checkout', auditOf('service.delete', 'service/checkout')), 'TERN_RELEASE_ACTIVE');
      assert.ok(await ctx.store.getService('checkout'));
      await rejectsWithCode(ctx.store.deleteService('nope', auditOf('service.delete', 'service/nope')), 'TERN_SERVICE_NOT_FOUND');
      assert.equal(await auditCount(ctx.store, { action: 'service.delete' }), 0);
    });
  });
}
