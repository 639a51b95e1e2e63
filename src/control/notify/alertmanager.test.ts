import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServiceWith, startRelease } from '../../store/contract/fixtures.js';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.js';
import type { Store } from '../../store/store.js';
import { parseAlertmanagerUrl, startAlertmanagerNotifier, type PostableAlert } from './alertmanager.js';

describe('Alertmanager notifier', () => {
  let store: Store;
  let server: Server;
  let url: string;
  let failuresLeft = 2;
  const received: Array<{ at: number; alerts: PostableAlert[] }> = [];

  before(async () => {
    store = await openSqliteStore({ file: ':memory:' });
    // Stands in for Alertmanager's POST /api/v2/alerts (a real one runs in test/e2e-alertmanager.test.ts):
    // down for the first two posts, then up.
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (failuresLeft-- > 0) return void res.writeHead(503).end('down');
        assert.equal(req.url, '/api/v2/alerts');
        received.push({ at: Date.now(), alerts: JSON.parse(body) as PostableAlert[] });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await store.close();
  });

  it('rejects a URL that is not http(s)', () => {
    assert.throws(() => parseAlertmanagerUrl('ftp://x'), { code: 'TERN_INVALID_REQUEST' });
    assert.throws(() => parseAlertmanagerUrl('not a url'), { code: 'TERN_INVALID_REQUEST' });
    assert.equal(parseAlertmanagerUrl('http://am:9093/'), 'http://am:9093');
  });

  it('retries through an outage, refreshes an active alert and resolves it with endsAt', async () => {
    await createServiceWith(store, 'shop');
    const release = await startRelease(store, 'shop');
    await store.raiseAlert({ releaseId: release.id, metric: 'errorRate', threshold: 0.05, observed: 0.3, at: Date.now() });
    const notifier = startAlertmanagerNotifier({
      url,
      store,
      externalUrl: 'http://tern.example/',
      isLeader: () => Promise.resolve(true),
      pollMs: 50,
      refreshMs: 300,
      leaderMarginMs: 600_000, // this store's lease is never taken: keep the no-leader alert out of this case
    });
    try {
      const deadline = Date.now() + 5000;
      while (received.length < 2) {
        assert.ok(Date.now() < deadline, `posts received: ${received.length}`);
        await sleep(20);
      }
      assert.ok(failuresLeft < 0, 'the first posts failed and were retried');
      const [first, second] = received;
      const alert = first!.alerts[0]!;
      assert.deepEqual(alert.labels, {
        service: 'shop',
        release: release.id,
        version: release.version,
        alertname: 'TernCheckFailing',
        check: 'errorRate',
        severity: 'critical',
      });
      assert.equal(alert.annotations.dashboard, `http://tern.example/releases/${release.id}`);
      assert.equal(alert.endsAt, undefined);
      assert.ok(second!.at - first!.at >= 250, 'an unchanged active alert is re-posted at the refresh interval, not every poll');
      const resolvedAt = Date.now();
      await store.resolveAlert(release.id, 'errorRate', resolvedAt);
      while (!received.some((r) => r.alerts.some((a) => a.endsAt !== undefined))) {
        assert.ok(Date.now() < deadline + 2000, 'no resolving post');
        await sleep(20);
      }
      const resolving = received.flatMap((r) => r.alerts).find((a) => a.endsAt !== undefined)!;
      assert.equal(resolving.labels.check, 'errorRate');
      assert.ok(Date.parse(resolving.endsAt!) >= resolvedAt - 1000 && Date.parse(resolving.endsAt!) <= Date.now());
    } finally {
      await notifier.stop();
    }
  });

  it('a follower posts TernNoControllerLeader while nobody holds the lease, and resolves it once someone does', async () => {
    const posted = (pred: (a: PostableAlert) => boolean): PostableAlert | undefined =>
      received.flatMap((r) => r.alerts).find((a) => a.labels.alertname === 'TernNoControllerLeader' && pred(a));
    assert.equal(await store.acquireLease('release-controller', 'controller-gone', 200), true);
    const notifier = startAlertmanagerNotifier({
      url,
      store,
      externalUrl: 'http://tern.example',
      isLeader: () => Promise.resolve(false), // a follower: it posts nothing else
      pollMs: 50,
      leaseTtlMs: 200,
      leaderMarginMs: 300,
    });
    try {
      const started = Date.now();
      while (!posted((a) => a.endsAt === undefined)) {
        assert.ok(Date.now() - started < 3000, 'no TernNoControllerLeader from a follower');
        await sleep(20);
      }
      assert.ok(Date.now() - started >= 400, 'not before TTL + margin since the last renewal');
      assert.match(posted(() => true)!.annotations.description ?? '', /controller-gone last renewed the lease/);
      assert.equal(await store.acquireLease('release-controller', 'controller-new', 10_000), true);
      while (!posted((a) => a.endsAt !== undefined)) {
        assert.ok(Date.now() - started < 5000, 'not resolved once a controller holds the lease');
        await sleep(20);
      }
    } finally {
      await notifier.stop();
    }
  });
});
