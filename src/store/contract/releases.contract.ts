/**
 * Contract: releases — one active per service (also under concurrent starts), state changes
 * written atomically with their audit event (and not at all when the change throws), racing
 * promotions, and promotion making the canary stable.
 */
import assert from 'node:assert/strict';
import { transition } from '../../core/release-state.js';
import type { Release } from '../../core/types.js';
import { auditCount, auditOf, createServiceWith, moveRelease, releaseInput, startRelease } from './fixtures.js';
import { assertCode, rejectsWithCode, suite, test } from './harness.js';
import type { StoreContext } from './harness.js';

function settled<T>(results: PromiseSettledResult<T>[]): { won: T[]; lost: unknown[] } {
  return {
    won: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    lost: results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : [])),
  };
}

export function releasesContract(ctx: StoreContext): void {
  suite('releases', () => {
    test('createRelease starts a release against the stable version, with its audit event', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const input = releaseInput('checkout');
      const release = await ctx.store.createRelease(input, auditOf('release.create', `release/${input.id}`));
      assert.deepEqual(release.baseline, { version: 'v1', endpoints: ['http://127.0.0.1:9001'] });
      assert.equal(release.stepStartedAt, input.startedAt);
      assert.equal(release.endedAt, null);
      assert.equal(release.reason, null);
      assert.equal(release.bucketHash, 'xxh32', 'a new release splits users by xxh32 unless told otherwise');
      assert.equal(release.routingVersion, (await ctx.store.routingTable()).version, 'written with the routing version it made');
      assert.equal(release.stepAppliedAt, input.startedAt, 'no data plane is live: the hold starts at the write');
      const unset = { routingVersion: undefined, stepAppliedAt: undefined };
      assert.deepEqual(
        {
          ...release,
          ...unset,
          baseline: undefined,
          stepStartedAt: undefined,
          updatedAt: undefined,
          endedAt: undefined,
          reason: undefined,
        },
        {
          ...input,
          bucketHash: 'xxh32',
          ...unset,
          baseline: undefined,
          stepStartedAt: undefined,
          updatedAt: undefined,
          endedAt: undefined,
          reason: undefined,
        },
      );
      assert.deepEqual(await ctx.store.getRelease(release.id), release);
      const [event] = await ctx.store.listAudit({ action: 'release.create' });
      assert.equal(event?.service, 'checkout');
      assert.equal(event?.target, `release/${release.id}`);
    });

    test('createRelease refuses an unknown service, the stable version, and a second active release', async () => {
      await rejectsWithCode(startRelease(ctx.store, 'nope'), 'TERN_SERVICE_NOT_FOUND');
      await createServiceWith(ctx.store, 'checkout');
      await rejectsWithCode(startRelease(ctx.store, 'checkout', { version: 'v1' }), 'TERN_VERSION_IS_STABLE');
      const first = await startRelease(ctx.store, 'checkout');
      const error = await rejectsWithCode(startRelease(ctx.store, 'checkout', { version: 'v3' }), 'TERN_RELEASE_ACTIVE');
      assert.match(error.message, new RegExp(first.id));
      assert.equal(await auditCount(ctx.store, { action: 'release.create' }), 1);
    });

    test('concurrent createRelease calls: exactly one wins, the others get TERN_RELEASE_ACTIVE', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const versions = ['v2', 'v3', 'v4'];
      const { won, lost } = settled(await Promise.allSettled(versions.map((version) => startRelease(ctx.store, 'checkout', { version }))));
      assert.equal(won.length, 1);
      assert.equal(lost.length, 2);
      for (const err of lost) assertCode(err, 'TERN_RELEASE_ACTIVE');
      assert.deepEqual(
        (await ctx.store.listReleases({ service: 'checkout', active: true })).map((r) => r.id),
        won.map((r) => r.id),
      );
      assert.equal(await auditCount(ctx.store, { action: 'release.create' }), 1);
    });

    test('updateRelease writes the change with its audit event; a new step restarts its clock', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const release = await startRelease(ctx.store, 'checkout');
      const progressing = await moveRelease(ctx.store, release.id, 'progressing');
      assert.equal(progressing.status, 'progressing');
      assert.equal(progressing.stepStartedAt, release.stepStartedAt, 'same step, same step start');
      const before = Date.now();
      const stepped = await ctx.store.updateRelease(
        release.id,
        (r) => ({ ...r, stepIndex: 1, weight: 5000, updatedAt: Date.now() }),
        (next) => auditOf('release.step', `release/${next.id}`, { detail: { stepIndex: next.stepIndex, weight: next.weight } }),
      );
      assert.equal(stepped.weight, 5000);
      assert.ok(stepped.stepStartedAt >= before, 'stepStartedAt is the time of the step change');
      assert.deepEqual(await ctx.store.getRelease(release.id), stepped);
      const [event] = await ctx.store.listAudit({ action: 'release.step' });
      assert.deepEqual(event?.detail, { stepIndex: 1, weight: 5000 }, 'a function audit sees the new release');
      assert.equal(event?.service, 'checkout');
    });

    test('updateRelease keeps a release on its service, version, salt and bucket hash', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const release = await startRelease(ctx.store, 'checkout');
      const next = await ctx.store.updateRelease(
        release.id,
        (r) => ({ ...r, service: 'other', version: 'v9', salt: 'x', bucketHash: 'murmur3', weight: 100 }),
        auditOf('release.weight', `release/${release.id}`),
      );
      assert.deepEqual(
        [next.service, next.version, next.salt, next.bucketHash, next.weight],
        [release.service, release.version, release.salt, 'xxh32', 100],
      );
      assert.deepEqual(await ctx.store.getRelease(release.id), next);
    });

    test('a release stored with the murmur3 bucket hash keeps it through its life and in the routing table', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const legacy = await startRelease(ctx.store, 'checkout', { bucketHash: 'murmur3' });
      assert.equal(legacy.bucketHash, 'murmur3');
      await moveRelease(ctx.store, legacy.id, 'progressing');
      const stepped = await ctx.store.updateRelease(
        legacy.id,
        (r) => ({ ...r, weight: 2500 }),
        auditOf('release.weight', `release/${legacy.id}`),
      );
      assert.equal(stepped.bucketHash, 'murmur3');
      assert.equal((await ctx.store.getRelease(legacy.id))?.bucketHash, 'murmur3');
      assert.deepEqual(
        (await ctx.store.listReleases({ service: 'checkout' })).map((r) => r.bucketHash),
        ['murmur3'],
      );
      const canary = (await ctx.store.routingTable()).routes[0]?.canary;
      assert.deepEqual([canary?.weight, canary?.bucketHash], [2500, 'murmur3']);
    });

    test('a change that throws writes nothing and its error propagates unchanged', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const release = await moveRelease(ctx.store, (await startRelease(ctx.store, 'checkout')).id, 'progressing');
      const audits = await auditCount(ctx.store);
      const routing = (await ctx.store.routingTable()).version;
      const heard: string[] = [];
      const unsubscribe = ctx.store.subscribe((c) => heard.push(c.action));
      let thrown: unknown;
      const illegal = (r: Release): Release => {
        try {
          return transition(r, 'promoted', Date.now()); // progressing -> promoted skips promoting
        } catch (err) {
          thrown = err;
          throw err;
        }
      };
      const error = await rejectsWithCode(
        ctx.store.updateRelease(release.id, illegal, auditOf('release.promoted', `release/${release.id}`)),
        'TERN_ILLEGAL_TRANSITION',
      );
      assert.equal(error, thrown);
      const boom = new Error('audit builder failed');
      await assert.rejects(
        ctx.store.updateRelease(
          release.id,
          (r) => ({ ...r, weight: 100 }),
          () => {
            throw boom;
          },
        ),
        (err) => err === boom,
      );
      unsubscribe();
      assert.deepEqual(await ctx.store.getRelease(release.id), release);
      assert.equal(await auditCount(ctx.store), audits);
      assert.equal((await ctx.store.routingTable()).version, routing);
      assert.deepEqual(heard, []);
    });

    test('updateRelease of an unknown release fails with TERN_RELEASE_NOT_FOUND', async () => {
      await rejectsWithCode(
        ctx.store.updateRelease('nope', (r) => r, auditOf('release.pause', 'release/nope')),
        'TERN_RELEASE_NOT_FOUND',
      );
      assert.equal(await auditCount(ctx.store), 0);
    });

    test('racing promotions: exactly one succeeds, the other gets TERN_ILLEGAL_TRANSITION', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const release = await moveRelease(ctx.store, (await startRelease(ctx.store, 'checkout')).id, 'progressing', 'promoting');
      const promote = (): Promise<Release> =>
        ctx.store.updateRelease(
          release.id,
          (r) => transition(r, 'promoted', Date.now()),
          auditOf('release.promoted', `release/${release.id}`),
        );
      const { won, lost } = settled(await Promise.allSettled([promote(), promote()]));
      assert.equal(won.length, 1);
      assert.equal(lost.length, 1);
      assertCode(lost[0], 'TERN_ILLEGAL_TRANSITION');
      assert.equal(await auditCount(ctx.store, { action: 'release.promoted' }), 1);
    });

    test('promotion makes the canary the stable version and frees the service', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const started = await startRelease(ctx.store, 'checkout', { endpoints: ['http://127.0.0.1:9002', 'http://127.0.0.1:9012'] });
      const promoted = await moveRelease(ctx.store, started.id, 'progressing', 'promoting', 'promoted');
      assert.equal(promoted.status, 'promoted');
      assert.ok(promoted.endedAt !== null);
      assert.deepEqual((await ctx.store.getService('checkout'))?.stable, {
        version: 'v2',
        endpoints: ['http://127.0.0.1:9002', 'http://127.0.0.1:9012'],
      });
      assert.deepEqual(await ctx.store.listReleases({ service: 'checkout', active: true }), []);
      await rejectsWithCode(startRelease(ctx.store, 'checkout', { version: 'v2' }), 'TERN_VERSION_IS_STABLE');
      const next = await startRelease(ctx.store, 'checkout', { version: 'v3' });
      assert.equal(next.baseline.version, 'v2');
    });

    test('rollback leaves the stable version as it was', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const started = await startRelease(ctx.store, 'checkout');
      const rolled = await moveRelease(ctx.store, started.id, 'progressing', 'rolling_back', 'rolled_back');
      assert.equal(rolled.weight, 0);
      assert.equal((await ctx.store.getService('checkout'))?.stable.version, 'v1');
      await startRelease(ctx.store, 'checkout', { version: 'v2' });
    });

    test('listReleases is newest first and filters by service, activity and limit', async () => {
      await createServiceWith(ctx.store, 'checkout');
      await createServiceWith(ctx.store, 'payments');
      const now = Date.now();
      const old = await startRelease(ctx.store, 'checkout', { startedAt: now - 30_000 });
      await moveRelease(ctx.store, old.id, 'rolling_back', 'rolled_back');
      const recent = await startRelease(ctx.store, 'checkout', { startedAt: now - 10_000, version: 'v3' });
      const other = await startRelease(ctx.store, 'payments', { startedAt: now - 20_000 });
      const ids = async (filter: Parameters<typeof ctx.store.listReleases>[0]): Promise<string[]> =>
        (await ctx.store.listReleases(filter)).map((r) => r.id);
      assert.deepEqual(await ids({}), [recent.id, other.id, old.id]);
      assert.deepEqual(await ids({ service: 'checkout' }), [recent.id, old.id]);
      assert.deepEqual(await ids({ service: 'checkout', active: true }), [recent.id]);
      assert.deepEqual(await ids({ active: false }), [old.id]);
      assert.deepEqual(await ids({ limit: 2 }), [recent.id, other.id]);
      assert.equal(await ctx.store.getRelease('nope'), undefined);
    });
  });
}
