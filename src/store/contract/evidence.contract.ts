/**
 * Contract: evidence — metric windows are idempotent per source (a repeat from one data plane
 * replaces its window) and add up across sources when read; windows list in time order;
 * feedback joins the evidence of its version.
 */
import assert from 'node:assert/strict';
import { auditCount, auditOf, createServiceWith, metricWindow, startRelease } from './fixtures.js';
import { rejectsWithCode, suite, test } from './harness.js';
import type { StoreContext } from './harness.js';

const T = 1_700_000_000_000;

export function evidenceContract(ctx: StoreContext): void {
  suite('evidence', () => {
    test('sources of the same release, version and second add up, histograms bucket by bucket', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      await ctx.store.appendMetricWindows('gw-a', [metricWindow(id, 'v2', T, { requests: 10, errors: 1, latency: { '10': 6, '12': 4 } })]);
      await ctx.store.appendMetricWindows('gw-b', [
        metricWindow(id, 'v2', T, { requests: 5, errors: 2, latency: { '12': 1, '20': 4 } }),
        metricWindow(id, 'v2', T, { requests: 6, errors: 2, latency: { '12': 1, '20': 5 } }), // the same key re-read in one batch: the later report counts
        metricWindow(id, 'v1', T, { requests: 7, errors: 0, latency: { '9': 7 } }),
      ]);
      const windows = await ctx.store.listMetricWindows(id);
      assert.deepEqual(windows, [
        metricWindow(id, 'v1', T, { requests: 7, errors: 0, latency: { '9': 7 } }),
        metricWindow(id, 'v2', T, { requests: 16, errors: 3, latency: { '10': 6, '12': 5, '20': 5 } }),
      ]);
    });

    test('a retried push counts once; a re-read from the same source replaces its window, other sources stay', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      const push = [
        metricWindow(id, 'v2', T, { requests: 10, errors: 1, latency: { '10': 6, '12': 4 }, gatewayErrors: 1 }),
        metricWindow(id, 'v2', T + 1000, { requests: 20, errors: 2, latency: { '10': 20 } }),
      ];
      await ctx.store.appendMetricWindows('haproxy-1', push);
      await ctx.store.appendMetricWindows('haproxy-1', push); // the answer to the first was lost: the agent sends it again
      await ctx.store.appendMetricWindows('nginx-1', [metricWindow(id, 'v2', T, { requests: 3, errors: 0, latency: { '30': 3 } })]);
      const read = async () =>
        (await ctx.store.listMetricWindows(id)).map((w) => [w.windowStart - T, w.requests, w.errors, w.gatewayErrors, w.latency]);
      assert.deepEqual(await read(), [
        [0, 13, 1, 1, { '10': 6, '12': 4, '30': 3 }],
        [1000, 20, 2, undefined, { '10': 20 }],
      ]);
      // The agent re-read its log and now knows more of that second: its window is replaced, not added to.
      await ctx.store.appendMetricWindows('haproxy-1', [metricWindow(id, 'v2', T, { requests: 12, errors: 3, latency: { '11': 12 } })]);
      assert.deepEqual(await read(), [
        [0, 15, 3, undefined, { '11': 12, '30': 3 }],
        [1000, 20, 2, undefined, { '10': 20 }],
      ]);
      await rejectsWithCode(ctx.store.appendMetricWindows('', push), 'TERN_INVALID_REQUEST');
    });

    test('feedback adds to the evidence of its second, whichever source pushes and re-pushes the traffic', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      const score = (n: number) =>
        ctx.store.addFeedback(
          { service: 'checkout', score: n, userKey: null, version: 'v2', releaseId: id, at: T + 200 },
          auditOf('feedback.submitted', 'service/checkout'),
        );
      await score(4);
      await ctx.store.appendMetricWindows('gw-a', [metricWindow(id, 'v2', T, { requests: 10 })]);
      await score(2);
      await ctx.store.appendMetricWindows('gw-a', [metricWindow(id, 'v2', T, { requests: 10 })]);
      const [w] = await ctx.store.listMetricWindows(id);
      assert.deepEqual([w?.requests, w?.feedbackSum, w?.feedbackCount], [10, 6, 2]);
    });

    test('listMetricWindows with sources keeps only those sources’ rows (a Prometheus-sourced release is judged from its own)', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      await ctx.store.appendMetricWindows('gw-a', [metricWindow(id, 'v2', T, { requests: 100, errors: 9 })]);
      await ctx.store.appendMetricWindows('prometheus:checkout', [
        metricWindow(id, 'v2', T, { requests: 40, errors: 1 }),
        metricWindow(id, 'v2', T + 1000, { requests: 50, errors: 2 }),
      ]);
      await ctx.store.addFeedback(
        { service: 'checkout', score: 5, userKey: null, version: 'v2', releaseId: id, at: T + 1200 },
        auditOf('feedback.submitted', 'service/checkout'),
      );
      const all = await ctx.store.listMetricWindows(id);
      assert.deepEqual(
        all.map((w) => [w.windowStart - T, w.requests, w.errors]),
        [
          [0, 140, 10],
          [1000, 50, 2],
        ],
      );
      const own = await ctx.store.listMetricWindows(id, { sources: ['prometheus:checkout', ''] });
      assert.deepEqual(
        own.map((w) => [w.windowStart - T, w.requests, w.errors, w.feedbackCount]),
        [
          [0, 40, 1, 0],
          [1000, 50, 2, 1],
        ],
      );
      assert.deepEqual(
        (await ctx.store.listMetricWindows(id, { sources: ['prometheus:checkout'], since: T + 1000, limit: 5 })).map((w) => w.requests),
        [50],
      );
      assert.deepEqual(await ctx.store.listMetricWindows(id, { sources: [] }), []);
    });

    test('sampled latency: the histogram holds the samples, requests stay exact, merged windows carry the effective rate', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      await ctx.store.appendMetricWindows('gw-a', [metricWindow(id, 'v2', T, { requests: 100, errors: 2, latency: { '10': 100 } })]);
      await ctx.store.appendMetricWindows('haproxy-1', [
        metricWindow(id, 'v2', T, { requests: 1000, errors: 5, latency: { '12': 100 }, latencySampleRate: 0.1 }),
        metricWindow(id, 'v2', T + 1000, { requests: 1000, errors: 5, latency: { '12': 100 }, latencySampleRate: 0.1 }),
      ]);
      const [merged, alone] = await ctx.store.listMetricWindows(id);
      assert.deepEqual([merged?.requests, merged?.errors, merged?.latency], [1100, 7, { '10': 100, '12': 100 }]);
      assert.ok(Math.abs((merged?.latencySampleRate ?? 0) - 200 / 1100) < 1e-12, `effective rate ${merged?.latencySampleRate}`);
      assert.equal(alone?.latencySampleRate, 0.1);
      await ctx.store.appendMetricWindows('gw-a', [metricWindow(id, 'v1', T, { requests: 5 })]);
      const stable = (await ctx.store.listMetricWindows(id)).find((w) => w.version === 'v1');
      assert.equal(stable?.latencySampleRate, undefined, 'every request timed: no rate');
    });

    test('heavy error users add up per user across gateways, the 16 heaviest kept; gateway errors add up', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      const users = (from: number, to: number, errors: (i: number) => number): Record<string, number> =>
        Object.fromEntries(Array.from({ length: to - from }, (_, k) => [(from + k).toString(16).padStart(8, '0'), errors(from + k)]));
      // Gateway A saw users 1..8, gateway B users 5..12 (5..8 on both), gateway C users 13..20 with one error each.
      const a = metricWindow(id, 'v2', T, { requests: 100, errors: 40, gatewayErrors: 3, errorUsers: users(1, 9, (i) => i) });
      await ctx.store.appendMetricWindows('gw-a', [a]);
      await ctx.store.appendMetricWindows('gw-b', [
        metricWindow(id, 'v2', T, { requests: 100, errors: 60, errorUsers: users(5, 13, () => 2) }),
      ]);
      await ctx.store.appendMetricWindows('gw-c', [
        metricWindow(id, 'v2', T, { requests: 50, errors: 8, gatewayErrors: 4, errorUsers: users(13, 21, () => 1) }),
      ]);
      await ctx.store.appendMetricWindows('gw-a', [a]); // a retry of A's push changes nothing
      const [window] = await ctx.store.listMetricWindows(id);
      assert.deepEqual([window?.requests, window?.errors, window?.gatewayErrors], [250, 108, 7]);
      assert.deepEqual(window?.errorUsers, {
        ...users(5, 9, (i) => i + 2), // on both gateways: summed
        ...users(1, 5, (i) => i),
        ...users(9, 13, () => 2),
        ...users(13, 17, () => 1), // of the eight one-error users, the first four by hash fill the 16
      });
      assert.equal(Object.keys(window?.errorUsers ?? {}).length, 16);
      await ctx.store.appendMetricWindows('gw-a', [metricWindow(id, 'v1', T, { requests: 10, errors: 0 })]);
      const stable = (await ctx.store.listMetricWindows(id)).find((w) => w.version === 'v1');
      assert.equal(stable?.errorUsers, undefined, 'a window without heavy users reads back without them');
      assert.equal(stable?.gatewayErrors, undefined);
    });

    test('concurrent pushes from several gateways all count, and their retries once', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      const gateways = Array.from({ length: 16 }, (_, i) =>
        ctx.store.appendMetricWindows(`gw-${i % 8}`, [metricWindow(id, 'v2', T), metricWindow(id, 'v2', T + 1000)]),
      );
      await Promise.all(gateways);
      const windows = await ctx.store.listMetricWindows(id);
      assert.deepEqual(
        windows.map((w) => [w.windowStart, w.requests, w.errors, w.latency]),
        [
          [T, 80, 8, { '10': 48, '12': 32 }],
          [T + 1000, 80, 8, { '10': 48, '12': 32 }],
        ],
      );
    });

    test('a gateway batch of 1000 windows is stored in full and read back merged with another source', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      const batch = Array.from({ length: 1000 }, (_, i) => metricWindow(id, i % 2 ? 'v1' : 'v2', T + Math.floor(i / 2) * 1000));
      await ctx.store.appendMetricWindows('gw-a', batch);
      await ctx.store.appendMetricWindows('gw-a', batch);
      await ctx.store.appendMetricWindows('gw-b', batch.slice(0, 10));
      const windows = await ctx.store.listMetricWindows(id);
      assert.equal(windows.length, 1000);
      assert.deepEqual(
        windows.slice(0, 12).map((w) => w.requests),
        [20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 10, 10],
      );
      assert.equal(
        windows.reduce((n, w) => n + w.requests, 0),
        10_100,
      );
    });

    test('listMetricWindows is in time order and honours since and limit', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      await ctx.store.appendMetricWindows(
        'gw-a',
        [2, 0, 1, 3].map((s) => metricWindow(id, 'v2', T + s * 1000)),
      );
      await ctx.store.appendMetricWindows(
        'gw-b',
        [0, 1, 3].flatMap((s) => [metricWindow(id, 'v1', T + s * 1000), metricWindow(id, 'v2', T + s * 1000)]),
      );
      const starts = async (options?: { since?: number; limit?: number }): Promise<string[]> =>
        (await ctx.store.listMetricWindows(id, options)).map((w) => `${w.version}@${w.windowStart - T}:${w.requests}`);
      // Each limit counts windows as read (both sources added up), never the rows behind them.
      assert.deepEqual(await starts(), ['v1@0:10', 'v2@0:20', 'v1@1000:10', 'v2@1000:20', 'v2@2000:10', 'v1@3000:10', 'v2@3000:20']);
      assert.deepEqual(await starts({ since: T + 1000 }), ['v1@1000:10', 'v2@1000:20', 'v2@2000:10', 'v1@3000:10', 'v2@3000:20']);
      assert.deepEqual(await starts({ since: T + 1000, limit: 3 }), ['v1@1000:10', 'v2@1000:20', 'v2@2000:10']);
      assert.deepEqual(await starts({ limit: 2 }), ['v1@0:10', 'v2@0:20']);
      assert.deepEqual(await starts({ limit: 0 }), []);
      assert.equal((await starts({ limit: 100 })).length, 7);
      assert.deepEqual(await ctx.store.listMetricWindows('nope'), []);
    });

    test('windows of unknown releases are dropped without losing the rest of the batch', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      await ctx.store.appendMetricWindows('gw-a', [metricWindow('gone', 'v2', T), metricWindow(id, 'v2', T)]);
      assert.equal((await ctx.store.listMetricWindows(id)).length, 1);
      await ctx.store.appendMetricWindows('gw-a', []);
    });

    test('addFeedback joins the evidence of its version, stable and canary alike; an unattributed score joins neither', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      const at = T + 1500;
      const add = (score: number, version: string | null, releaseId: string | null, when = at): Promise<void> =>
        ctx.store.addFeedback(
          { service: 'checkout', score, userKey: null, version, releaseId, at: when },
          auditOf('feedback.submitted', 'service/checkout'),
        );
      await add(4, 'v2', id);
      await add(2, 'v2', id, at + 100);
      await add(5, 'v1', id);
      await add(3, null, id);
      await add(5, null, null);
      const windows = await ctx.store.listMetricWindows(id);
      assert.deepEqual(
        windows.map((w) => [w.version, w.windowStart, w.feedbackSum, w.feedbackCount, w.requests]),
        [
          ['v1', T + 1000, 5, 1, 0],
          ['v2', T + 1000, 6, 2, 0],
        ],
      );
      assert.equal(await auditCount(ctx.store, { service: 'checkout', action: 'feedback.submitted' }), 0, 'audited in aggregate, later');
    });

    test('addFeedback refuses an unknown service or a release of another service', async () => {
      await createServiceWith(ctx.store, 'checkout');
      await createServiceWith(ctx.store, 'payments');
      const { id } = await startRelease(ctx.store, 'payments');
      const feedback = { score: 3, userKey: null, version: 'v2', at: T };
      await rejectsWithCode(
        ctx.store.addFeedback({ ...feedback, service: 'nope', releaseId: null }, auditOf('feedback.create', 'service/nope')),
        'TERN_SERVICE_NOT_FOUND',
      );
      await rejectsWithCode(
        ctx.store.addFeedback({ ...feedback, service: 'checkout', releaseId: id }, auditOf('feedback.create', 'service/checkout')),
        'TERN_RELEASE_NOT_FOUND',
      );
      assert.equal(await ctx.store.flushFeedbackAudit(Number.MAX_SAFE_INTEGER), 0, 'a refused score leaves nothing to audit');
      assert.equal(await auditCount(ctx.store, { action: 'feedback.create' }), 0);
      assert.deepEqual(await ctx.store.listMetricWindows(id), []);
    });

    test('listAlerts is empty for a release nothing alerted on', async () => {
      await createServiceWith(ctx.store, 'checkout');
      const { id } = await startRelease(ctx.store, 'checkout');
      assert.deepEqual(await ctx.store.listAlerts(id), []);
      assert.deepEqual(await ctx.store.listAlerts('nope'), []);
    });
  });
}
