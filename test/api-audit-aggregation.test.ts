/**
 * Anonymous and denied traffic must not grow the audit log without bound.
 * One row per (actor, client group, action, outcome, minute) plus one summary with the count;
 * a bounded number of groups per minute, the rest counted in one overflow row; authenticated
 * actions stay one row each.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '../src/core/types.js';
import { startHarness } from './api-harness.js';

/** How many requests the rows stand for: a plain row is one, a summary row its count. */
function represented(events: readonly AuditEvent[]): number {
  return events.reduce((n, e) => n + (((e.detail?.aggregate as { count?: number } | undefined)?.count ?? 0) || 1), 0);
}

describe('audit of anonymous and denied requests', () => {
  it('writes a bounded number of rows for a flood from one address, and counts every request', async () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const h = await startHarness({ clock: () => now });
    try {
      const [start] = await h.store.listAudit({ limit: 1 });
      const flood = 900;
      for (let i = 0; i < flood; i++) {
        const kind = i % 3;
        const url = kind === 0 ? `/api/v1/no-such-${i}` : kind === 1 ? '/api/v1/services' : `/api/v1/releases/r${i}/rollback`;
        const res = await h.call('POST', url, { token: kind === 2 ? `tern_guess-${i}` : null, body: {}, remoteAddress: '198.51.100.7' });
        assert.ok([401, 404, 429].includes(res.statusCode), `${url}: ${res.statusCode}`);
        now += 50; // 900 requests over 45 s: one minute
      }
      const during = (await h.store.listAudit({ limit: 1000 })).filter((e) => e.id > (start?.id ?? 0));
      assert.ok(
        during.length <= 6,
        `${during.length} rows for ${flood} anonymous requests: ${JSON.stringify(during.slice(0, 10).map((e) => e.action))}`,
      );
      assert.ok(
        during.some((e) => e.action === 'service.create' && e.outcome === 'denied'),
        'the first of each kind is written at once',
      );

      now += 60_000; // the minute ends; the next event writes its summaries
      await h.call('POST', '/api/v1/services', { token: null, body: {}, remoteAddress: '198.51.100.7' });
      const rows = (await h.store.listAudit({ limit: 1000 })).filter((e) => e.id > (start?.id ?? 0));
      const summaries = rows.filter((e) => e.detail?.aggregate !== undefined);
      assert.ok(summaries.length >= 1 && summaries.length <= 6, JSON.stringify(summaries));
      assert.equal(represented(rows), flood + 1, 'every request is accounted for');
      for (const s of summaries) assert.match(s.reason ?? '', /more like this from 198\.51\.100\.7/);
    } finally {
      await h.close();
    }
  });

  it('groups IPv6 by /64 and bounds the groups per minute, counting the rest in one overflow row', async () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const h = await startHarness({ clock: () => now, maxAuditGroupsPerMinute: 10, authFailureLimit: { max: 1_000_000, windowMs: 60_000 } });
    try {
      const [start] = await h.store.listAudit({ limit: 1 });
      for (let i = 0; i < 50; i++) {
        await h.call('POST', '/api/v1/services', { token: null, body: {}, remoteAddress: `2001:db8:0:1::${(i + 1).toString(16)}` });
      }
      for (let i = 0; i < 200; i++) {
        await h.call('POST', '/api/v1/services', { token: null, body: {}, remoteAddress: `2001:db8:${(i + 2).toString(16)}::1` });
      }
      now += 60_000;
      await h.app.close(); // flushes every summary
      const rows = (await h.store.listAudit({ limit: 1000 })).filter((e) => e.id > (start?.id ?? 0));
      assert.ok(rows.length <= 2 * 10 + 1, `${rows.length} rows`);
      const oneNet = rows.filter((e) => e.source === '2001:db8:0:1::1' || e.source === '2001:db8:0:1::/64');
      assert.equal(represented(oneNet), 50, 'one /64 is one group');
      const overflow = rows.filter((e) => e.action === 'audit.overflow');
      assert.equal(overflow.length, 1);
      assert.equal(represented(rows), 250);
    } finally {
      await h.close().catch(() => undefined);
    }
  });

  it('keeps one row per authenticated action, refused or not', async () => {
    const h = await startHarness();
    try {
      const [start] = await h.store.listAudit({ limit: 1 });
      for (let i = 0; i < 30; i++) await h.call('POST', '/api/v1/services', { body: { name: 'Bad Name' } });
      const rows = (await h.store.listAudit({ limit: 1000 })).filter((e) => e.id > (start?.id ?? 0));
      assert.equal(rows.length, 30);
      assert.ok(rows.every((e) => e.actor === 'token:bootstrap-admin' && e.outcome === 'rejected'));
    } finally {
      await h.close();
    }
  });
});
