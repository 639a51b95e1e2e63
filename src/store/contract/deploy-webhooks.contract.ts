/**
 * Contract: webhooks and deploy settings round-trip on services and releases, absent ones read
 * back as "none" and "static", and a release's deployment (the processes a driver started)
 * can be recorded on it, also after it ended, so a restarted controller finds them.
 */
import assert from 'node:assert/strict';
import { compileDeploy } from '../../core/deploy.js';
import { transition } from '../../core/release-state.js';
import type { Deployment } from '../../core/types.js';
import { compileWebhooks } from '../../core/webhooks.js';
import { auditOf, createServiceWith, startRelease } from './fixtures.js';
import { suite, test } from './harness.js';
import type { StoreContext } from './harness.js';

const hooks = compileWebhooks([
  { type: 'pre-rollout', url: 'https://ci.example/gate' },
  { type: 'event', url: 'https://hooks.example/T0001/B0002/abcdefghijklmnopqrstuvwx', format: 'slack', events: ['release.rollback'] },
]);
const deploy = compileDeploy({
  driver: 'process',
  command: 'node app.js --port {port}',
  instances: 2,
  readiness: { path: '/healthz', timeout: '10s' },
  env: { A: '1' },
});
const deployment: Deployment = {
  driver: 'process',
  state: 'ready',
  instances: [{ index: 0, pid: 4242, port: 30001, endpoint: 'http://127.0.0.1:30001', logFile: '/tmp/x/v2-0.log', startedAt: 1 }],
  retiredAt: null,
};

export function deployWebhooksContract(ctx: StoreContext): void {
  suite('webhooks and deploy drivers', () => {
    test('a service without them reads back as no webhooks and static deploy', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const service = await ctx.store.getService('checkout');
      assert.deepEqual([service?.webhooks, service?.deploy], [[], { driver: 'static' }]);
    });

    test("a service's webhooks and deploy settings round-trip, on create and on update", async () => {
      const created = await ctx.store.createService(
        {
          name: 'pay',
          match: { pathPrefix: '/pay' },
          stickiness: { cookie: 'tern_uid' },
          stable: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
          rules: [],
          webhooks: hooks,
          deploy,
        },
        auditOf('service.create', 'service/pay'),
      );
      assert.deepEqual(await ctx.store.getService('pay'), created);
      await ctx.store.updateService('pay', { webhooks: [], deploy: { driver: 'static' } }, auditOf('service.update', 'service/pay'));
      const updated = await ctx.store.getService('pay');
      assert.deepEqual([updated?.webhooks, updated?.deploy], [[], { driver: 'static' }]);
    });

    test("a release's webhooks round-trip; its deployment is recorded and kept after it ends", async () => {
      await createServiceWith(ctx.store, 'checkout');
      const release = await startRelease(ctx.store, 'checkout', { webhooks: hooks });
      assert.deepEqual(await ctx.store.getRelease(release.id), release);
      assert.deepEqual([release.webhooks, release.deployment], [hooks, null]);
      await ctx.store.updateRelease(release.id, (r) => ({ ...r, deployment }), auditOf('release.deploy', `release/${release.id}`));
      await ctx.store.updateRelease(
        release.id,
        (r) => transition(r, 'failed', Date.now(), 'never ready'),
        auditOf('release.failed', `release/${release.id}`),
      );
      const retired = { ...deployment, state: 'retired' as const, retiredAt: 5 };
      await ctx.store.updateRelease(
        release.id,
        (r) => ({ ...r, deployment: retired }),
        auditOf('release.retired', `release/${release.id}`),
      );
      const read = await ctx.store.getRelease(release.id);
      assert.deepEqual([read?.status, read?.deployment], ['failed', retired]);
    });
  });
}
