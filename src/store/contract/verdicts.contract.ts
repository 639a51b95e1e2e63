/**
 * Contract: analysis verdicts — stored with their evidence, listed newest first, every pass
 * and fail kept while a run of inconclusive looks on one step keeps only its latest.
 */
import assert from 'node:assert/strict';
import type { VerdictInput, VerdictOutcome } from '../store.js';
import { auditOf, createServiceWith, moveRelease, startRelease } from './fixtures.js';
import { rejectsWithCode, suite, test } from './harness.js';
import type { StoreContext } from './harness.js';

const T = 1_700_000_000_000;

function verdict(releaseId: string, outcome: VerdictOutcome, at: number, extra: Partial<VerdictInput> = {}): VerdictInput {
  return {
    releaseId,
    stepIndex: 0,
    judge: 'sequential',
    outcome,
    checks: [{ check: 'errorRate', statistic: 1.7, bound: 20, samples: { stable: 900, canary: 100 }, outcome }],
    windowFrom: T,
    windowTo: at,
    at,
    ...extra,
  };
}

export function verdictsContract(ctx: StoreContext): void {
  suite('analysis verdicts', () => {
    test('a verdict is stored with its evidence and windows; the list is newest first', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      const pass = verdict(id, 'pass', T + 30_000, {
        checks: [{ check: 'latency', quantiles: [0.5, 0.99], sup: 0.01, bound: 0.2, nested: { ok: true, note: null } }],
      });
      await ctx.store.recordVerdict(pass);
      await ctx.store.recordVerdict(
        verdict(id, 'fail', T + 60_000, { stepIndex: 1, judge: 'threshold', windowFrom: null, windowTo: null }),
      );
      const listed = await ctx.store.listVerdicts(id);
      assert.deepEqual(
        listed.map(({ id: _id, ...v }) => v),
        [verdict(id, 'fail', T + 60_000, { stepIndex: 1, judge: 'threshold', windowFrom: null, windowTo: null }), pass],
      );
      assert.equal(typeof listed[0]?.id, 'number');
      assert.deepEqual(await ctx.store.listVerdicts('nope'), []);
    });

    test('a run of inconclusive verdicts on one step keeps its latest; passes and fails all stay', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      const looks: [number, VerdictOutcome, number][] = [
        [0, 'inconclusive', 1],
        [0, 'inconclusive', 2],
        [0, 'inconclusive', 3],
        [0, 'pass', 4],
        [0, 'inconclusive', 5],
        [1, 'inconclusive', 6], // another step: its own run
        [0, 'inconclusive', 7],
        [1, 'inconclusive', 8],
        [1, 'fail', 9],
        [1, 'fail', 10],
        [1, 'inconclusive', 11],
      ];
      for (const [stepIndex, outcome, s] of looks) await ctx.store.recordVerdict(verdict(id, outcome, T + s * 1000, { stepIndex }));
      const kept = (await ctx.store.listVerdicts(id)).map((v) => [v.stepIndex, v.outcome, (v.at - T) / 1000]);
      assert.deepEqual(kept, [
        [1, 'inconclusive', 11],
        [1, 'fail', 10],
        [1, 'fail', 9],
        [1, 'inconclusive', 8],
        [0, 'inconclusive', 7],
        [0, 'pass', 4],
        [0, 'inconclusive', 3],
      ]);
    });

    test('listVerdicts honours limit (default 100)', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      for (let s = 0; s < 105; s++) await ctx.store.recordVerdict(verdict(id, s % 2 ? 'pass' : 'fail', T + s));
      assert.equal((await ctx.store.listVerdicts(id)).length, 100);
      assert.deepEqual(
        (await ctx.store.listVerdicts(id, { limit: 2 })).map((v) => v.at - T),
        [104, 103],
      );
    });

    test('recordVerdict refuses an unknown release; verdicts go with their service', async () => {
      await rejectsWithCode(ctx.store.recordVerdict(verdict('nope', 'pass', T)), 'TERN_RELEASE_NOT_FOUND');
      await createServiceWith(ctx.store, 'checkout');
      const release = await startRelease(ctx.store, 'checkout');
      await ctx.store.recordVerdict(verdict(release.id, 'fail', T));
      await moveRelease(ctx.store, release.id, 'rolling_back', 'rolled_back');
      await ctx.store.deleteService('checkout', auditOf('service.delete', 'service/checkout'));
      assert.deepEqual(await ctx.store.listVerdicts(release.id), []);
    });
  });
}
