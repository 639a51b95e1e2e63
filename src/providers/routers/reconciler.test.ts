import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { DataPlaneStatusReport } from '../../core/data-plane.js';
import type { RouteEntry, RoutingTable } from '../../core/types.js';
import { startGateway } from '../../gateway/gateway.js';
import { createBuiltinRouter } from './builtin.js';
import { startReconciler } from './reconciler.js';

/** A control plane on a real socket serving `table()` to the watch and recording status reports. */
async function controlPlane(table: () => RoutingTable): Promise<{ url: string; reports: DataPlaneStatusReport[]; close(): Promise<void> }> {
  const reports: DataPlaneStatusReport[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://cp');
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.headers.authorization !== 'Bearer gw') return void res.writeHead(401).end();
      if (url.pathname === '/api/v1/dataplane/status') {
        reports.push(JSON.parse(body) as DataPlaneStatusReport);
        return void res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ routingVersion: table().version }));
      }
      if (url.pathname !== '/api/v1/dataplane/routing') return void res.writeHead(202).end('{}');
      const after = Number(url.searchParams.get('after') ?? -1);
      const t = table();
      setTimeout(
        () =>
          t.version > after
            ? res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...t, weightScale: 10_000 }))
            : res.writeHead(304).end(),
        t.version > after ? 0 : 20,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reports,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > 5_000) throw new Error(`${what}: not within 5 s`);
    await sleep(5);
  }
}

const route = (bucketHash: string): RouteEntry =>
  ({
    service: 'checkout',
    match: { pathPrefix: '/' },
    stickiness: { header: 'x-user-id', cookie: 'tern_uid' },
    rules: [],
    stable: { version: 'v1', endpoints: ['http://127.0.0.1:9'] },
    canary: { version: 'v2', endpoints: ['http://127.0.0.1:9'], weight: 500, salt: 'abcdefghijklmnopqrstuv', releaseId: 'r1', bucketHash },
  }) as unknown as RouteEntry;

describe('startReconciler', () => {
  it('applies newer tables through its Router and reports each as its data plane; a table the Router refuses is reported as not applied', async () => {
    let current: RoutingTable = { version: 3, routes: [route('xxh32')] };
    const cp = await controlPlane(() => current);
    const gateway = await startGateway({ host: '127.0.0.1', port: 0, admin: false, logger: pino({ level: 'silent' }) });
    const router = createBuiltinRouter(gateway);
    const reconciler = startReconciler({
      router,
      url: cp.url,
      token: 'gw',
      dataPlane: 'edge-9',
      services: ['checkout'],
      logger: pino({ level: 'silent' }),
      waitSeconds: 1,
      statusIntervalMs: 40,
      backoff: { baseMs: 10, capMs: 50 },
    });
    try {
      await until(() => cp.reports.some((r) => r.appliedVersion === 3), 'version 3 reported');
      assert.equal(gateway.tableVersion(), 3, 'the gateway routes by it');
      assert.deepEqual(
        cp.reports.find((r) => r.appliedVersion === 3),
        {
          dataPlane: 'edge-9',
          kind: 'builtin',
          appliedVersion: 3,
          features: router.features,
          services: ['checkout'],
        },
      );
      // A bucket hash the router does not compute: apply rejects, the watch retries, version 3 stays.
      current = { version: 4, routes: [route('sha1')] };
      const seen = cp.reports.length;
      await until(() => cp.reports.length >= seen + 3, 'three more heartbeats');
      assert.equal(gateway.tableVersion(), 3);
      assert.ok(
        cp.reports.slice(seen).every((r) => r.appliedVersion === 3),
        'the refused table is never reported applied',
      );
      current = { version: 5, routes: [route('xxh32')] };
      await until(() => cp.reports.some((r) => r.appliedVersion === 5), 'version 5 reported');
    } finally {
      await reconciler.stop();
      await gateway.close();
      await cp.close();
    }
    assert.equal(cp.reports.at(-1)?.leaving, true, 'leaving on stop');
  });
});
