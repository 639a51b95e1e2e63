/**
 * Contract: accepted feedback is audited in aggregate — one `feedback.submitted` event per
 * service, minute and actor, written once the minute is over (or when asked to write the open
 * ones), never twice, with no score missing however adds and flushes interleave.
 */
import assert from 'node:assert/strict';
import type { AuditEvent, Feedback } from '../../core/types.js';
import type { StoreChange } from '../store.js';
import { auditOf, createServiceWith, startRelease } from './fixtures.js';
import { suite, test } from './harness.js';
import type { StoreContext } from './harness.js';

const MINUTE = 60_000;
/** A minute boundary, so a test can place scores on either side of it. */
const M = 28_333_333 * MINUTE;
const ACTION = 'feedback.submitted';

export function feedbackAuditContract(ctx: StoreContext): void {
  suite('feedback audit', () => {
    const add = (feedback: Partial<Feedback> & { readonly at: number }, actor = 'token:widget', source = '10.0.0.1'): Promise<void> =>
      ctx.store.addFeedback(
        { service: 'checkout', score: 3, userKey: null, version: null, releaseId: null, ...feedback },
        auditOf(ACTION, 'service/checkout', { actor, source, detail: { score: feedback.score ?? 3 } }),
      );
    const events = async (): Promise<AuditEvent[]> => (await ctx.store.listAudit({ action: ACTION, limit: 1000 })).reverse();

    test('one event per service, minute and actor, with counts per version, written once the minute is over', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      await add({ score: 4, version: 'v2', releaseId: id, at: M + 1_000 });
      await add({ score: 2, version: 'v2', releaseId: id, at: M + 2_000 }, 'token:widget', '10.0.0.2');
      await add({ score: 5, version: 'v1', releaseId: id, at: M + 3_000 });
      await add({ score: 1, version: null, releaseId: id, at: M + 59_999 });
      await add({ score: 5, version: 'v1', releaseId: id, at: M + 30_000 }, 'token:app');
      await add({ score: 3, version: 'v1', releaseId: id, at: M + MINUTE }); // the next minute

      assert.deepEqual(await events(), [], 'nothing is audited while the minute is open');
      assert.equal(await ctx.store.flushFeedbackAudit(M + MINUTE - 1), 0);
      assert.equal(await ctx.store.flushFeedbackAudit(M + MINUTE), 2, 'the closed minute: one event per actor');
      assert.equal(await ctx.store.flushFeedbackAudit(M + MINUTE + 10_000), 0, 'written once');

      const [app, widget, ...rest] = await events();
      assert.equal(rest.length, 0);
      assert.deepEqual(
        [app?.actor, app?.service, app?.target, app?.outcome, app?.at, app?.detail?.count],
        ['token:app', 'checkout', 'service/checkout', 'success', M + 30_000, 1],
      );
      assert.deepEqual([widget?.actor, widget?.source, widget?.at], ['token:widget', '10.0.0.1', M + 59_999]);
      assert.deepEqual(widget?.detail, {
        from: new Date(M).toISOString(),
        to: new Date(M + MINUTE).toISOString(),
        count: 4,
        sum: 12,
        mean: 3,
        byVersion: { v2: { count: 2, sum: 6, mean: 3 }, v1: { count: 1, sum: 5, mean: 5 } },
        unattributed: { count: 1, sum: 1 },
        releases: [id],
        sources: ['10.0.0.1', '10.0.0.2'],
        sourcesOmitted: 0,
      });
      assert.match(widget?.reason ?? '', /^4 feedback scores, mean 3 \(v2: 2, mean 3; v1: 1, mean 5; no version: 1\)$/);

      assert.equal(await ctx.store.flushFeedbackAudit(Number.MAX_SAFE_INTEGER), 1, 'the open minute, when asked (shutdown)');
      assert.deepEqual(
        (await events()).map((e) => [e.actor, e.detail?.count, e.detail?.from]),
        [
          ['token:app', 1, new Date(M).toISOString()],
          ['token:widget', 4, new Date(M).toISOString()],
          ['token:widget', 1, new Date(M + MINUTE).toISOString()],
        ],
      );
    });

    test('each written event is published like any other change, and many sources are counted, not listed', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const heard: StoreChange[] = [];
      ctx.store.subscribe((c) => heard.push(c));
      for (let i = 0; i < 14; i++) await add({ at: M + i }, 'token:widget', `10.0.1.${i}`);
      assert.equal(heard.length, 0, 'a score alone publishes nothing');
      await ctx.store.flushFeedbackAudit(M + MINUTE);
      assert.deepEqual(
        heard.map((c) => [c.kind, c.id, c.action, c.audit.detail?.count]),
        [['service', 'checkout', ACTION, 14]],
      );
      const detail = heard[0]?.audit.detail;
      assert.deepEqual([(detail?.sources as string[]).length, detail?.sourcesOmitted], [10, 4]);
    });

    test('concurrent scores and flushes: every score is in exactly one event', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const scores = Array.from({ length: 24 }, (_, i) => ({ score: (i % 5) + 1, at: M + i * 100 }));
      await Promise.all([
        ...scores.map((s, i) => add(s, i % 2 === 0 ? 'token:a' : 'token:b')),
        ...[1, 2, 3].map(() => ctx.store.flushFeedbackAudit(Number.MAX_SAFE_INTEGER)),
      ]);
      await ctx.store.flushFeedbackAudit(Number.MAX_SAFE_INTEGER);
      const written = await events();
      const total = (key: 'count' | 'sum'): number => written.reduce((n, e) => n + Number(e.detail?.[key]), 0);
      assert.deepEqual([total('count'), total('sum')], [24, scores.reduce((n, s) => n + s.score, 0)]);
      assert.equal(await ctx.store.flushFeedbackAudit(Number.MAX_SAFE_INTEGER), 0);
    });

    test('scores of a deleted service are still audited (audit events outlive what they describe)', async () => {
      await createServiceWith(ctx.store, 'checkout');
      await add({ score: 2, at: M + 5 });
      await ctx.store.deleteService('checkout', auditOf('service.delete', 'service/checkout'));
      assert.equal(await ctx.store.flushFeedbackAudit(M + MINUTE), 1);
      const [event] = await ctx.store.listAudit({ service: 'checkout', action: ACTION });
      assert.equal(event?.detail?.count, 1);
    });
  });
}
