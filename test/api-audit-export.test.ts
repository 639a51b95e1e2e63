/**
 * Audit retention and export: `GET /api/v1/audit/export` streams the audit log
 * as verifiable JSON lines (admin only); a complete export moves the export mark, and retention
 * prunes only events that are both older than the retention and exported.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp } from '../src/api/app.js';
import { startAuditPruner } from '../src/api/audit/audit-retention.js';
import { verifyExportLines } from '../src/core/audit-chain.js';
import { serviceBody, startHarness } from './api-harness.js';

const DAY = 86_400_000;

describe('audit export and retention', () => {
  it('exports every event as a verifiable chain, admin only, and an edit breaks it', async () => {
    const h = await startHarness();
    try {
      for (const name of ['alpha', 'beta', 'gamma']) await h.call('POST', '/api/v1/services', { body: serviceBody(name) });
      assert.equal((await h.call('GET', '/api/v1/audit/export', { token: h.tokens.viewer })).statusCode, 403);
      const res = await h.call('GET', '/api/v1/audit/export');
      assert.equal(res.statusCode, 200, res.body);
      assert.match(String(res.headers['content-type']), /application\/x-ndjson/);
      assert.equal(res.headers['cache-control'], 'no-store');
      const lines = res.body.trimEnd().split('\n');
      const all = await h.store.listAudit({ limit: 1000 });
      const verified = verifyExportLines(lines);
      assert.equal(verified.count, all.length);
      assert.equal(verified.throughId, all[0]?.id);
      assert.deepEqual(
        lines.slice(1, -1).map((l) => (JSON.parse(l) as { event: { id: number } }).event.id),
        all.map((e) => e.id).reverse(),
        'oldest first, all of them',
      );
      const forged = lines.map((l) => l.replace('service/beta', 'service/zeta'));
      assert.throws(() => verifyExportLines(forged), /chain hash/);
      assert.equal(await h.store.auditExportMark(), all[0]?.id, 'a complete export moves the mark');

      const since = await h.call('GET', `/api/v1/audit/export?since=${Date.now() + DAY}`);
      assert.equal(verifyExportLines(since.body.trimEnd().split('\n')).count, 0);
      assert.equal((await h.call('GET', '/api/v1/audit/export?until=yesterday')).statusCode, 400);
    } finally {
      await h.close();
    }
  });

  it('prunes only events older than the retention that an export covered', async () => {
    let now = Date.UTC(2026, 0, 1);
    const h = await startHarness({ clock: () => now });
    try {
      await h.call('POST', '/api/v1/services', { body: serviceBody('old') }); // day 0
      const exported = await h.call('GET', '/api/v1/audit/export');
      assert.equal(exported.statusCode, 200);
      const mark = await h.store.auditExportMark();
      now += 10 * DAY;
      await h.call('POST', '/api/v1/services', { body: serviceBody('recent-unexported') }); // day 10, not exported
      now += 100 * DAY;
      const pruner = startAuditPruner({ store: h.store, retentionMs: 90 * DAY, clock: () => now });
      pruner.stop();
      await sleep(50); // the pass startAuditPruner ran at start
      const left = await h.store.listAudit({ limit: 1000 });
      assert.ok(left.length >= 1);
      assert.ok(
        left.every((e) => e.id > mark),
        'every exported event past the retention is gone',
      );
      assert.ok(
        left.some((e) => e.target === 'service/recent-unexported'),
        'an event nobody exported stays, however old',
      );
      assert.equal(await pruner.pruneNow(), 0);

      // The server option starts the same pruning: export again, then an app with a retention prunes at start.
      await h.call('GET', '/api/v1/audit/export');
      const app = await buildApp({ store: h.store, logger: false, clock: () => now, auditRetentionMs: 90 * DAY });
      try {
        await app.ready();
        for (let i = 0; i < 50 && (await h.store.listAudit({})).some((e) => e.target === 'service/recent-unexported'); i++) await sleep(20);
        assert.ok(!(await h.store.listAudit({ limit: 1000 })).some((e) => e.target === 'service/recent-unexported'));
      } finally {
        await app.close();
      }
    } finally {
      await h.close();
    }
  });
});
