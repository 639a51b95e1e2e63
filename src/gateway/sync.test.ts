import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import type { DataPlaneStatusReport, RouterFeatures } from '../core/data-plane.js';
import type { RoutingTable } from '../core/types.js';
import { readStateFile, writeStateFile } from './state-file.js';
import type { StatusReportOptions } from './status-report.js';
import { backoffDelay, startSync, type SyncHandle } from './sync.js';
import { parseRoutingTable } from './table-json.js';

describe('backoffDelay', () => {
  it('doubles from the base, stays within [ceiling/2, ceiling], and is capped', () => {
    assert.equal(
      backoffDelay(1, 100, 10_000, () => 0),
      50,
    );
    assert.equal(
      backoffDelay(1, 100, 10_000, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(4, 100, 10_000, () => 1),
      800,
    );
    assert.equal(
      backoffDelay(50, 100, 10_000, () => 1),
      10_000,
    );
    assert.equal(
      backoffDelay(50, 100, 10_000, () => 0),
      5_000,
    );
  });
});

describe('parseRoutingTable', () => {
  const good = {
    version: 3,
    weightScale: 10_000,
    routes: [
      {
        service: 's',
        match: { pathPrefix: '/' },
        stickiness: { cookie: 'tern_uid' },
        rules: [],
        stable: { version: 'v1', endpoints: ['http://a:1'] },
        canary: null,
      },
    ],
  };

  it('accepts the control plane shape', () => {
    assert.equal(parseRoutingTable(good).routes.length, 1);
  });

  it('names the first field that does not fit', () => {
    assert.throws(() => parseRoutingTable({ ...good, version: -1 }), /version/);
    assert.throws(() => parseRoutingTable({ ...good, weightScale: 100 }), /weightScale/);
    assert.throws(
      () => parseRoutingTable({ ...good, routes: [{ ...good.routes[0], stable: { version: 'v1' } }] }),
      /routes\[0\]\.stable\.endpoints/,
    );
    assert.throws(
      () => parseRoutingTable({ ...good, routes: [{ ...good.routes[0], canary: { version: 'v2', endpoints: [], weight: '5' } }] }),
      /canary\.weight/,
    );
    assert.throws(() => parseRoutingTable('nope'), /routing table/);
  });

  it("takes the canary's bucket hash as given, absent for tables from before migration 8, and refuses an unknown one", () => {
    const canary = { version: 'v2', endpoints: ['http://b:1'], weight: 500, salt: 's', releaseId: 'r' };
    const withCanary = (c: object) => ({ ...good, routes: [{ ...good.routes[0], canary: c }] });
    assert.equal(parseRoutingTable(withCanary({ ...canary, bucketHash: 'xxh32' })).routes[0]!.canary!.bucketHash, 'xxh32');
    assert.equal(parseRoutingTable(withCanary({ ...canary, bucketHash: 'murmur3' })).routes[0]!.canary!.bucketHash, 'murmur3');
    assert.equal(parseRoutingTable(withCanary(canary)).routes[0]!.canary!.bucketHash, undefined);
    assert.throws(
      () => parseRoutingTable(withCanary({ ...canary, bucketHash: 'xxh64' })),
      /routes\[0\]\.canary\.bucketHash: expected one of xxh32, murmur3/,
    );
  });
});

describe('state file', () => {
  it('round-trips a table and leaves no temp file behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tern-state-'));
    try {
      const file = join(dir, 'table.json');
      assert.equal(await readStateFile(file), null);
      await writeStateFile(file, { version: 1, routes: [] });
      await writeStateFile(file, { version: 2, routes: [] });
      assert.equal((await readStateFile(file))?.version, 2);
      assert.deepEqual(await readdir(dir), ['table.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('startGateway options', () => {
  it('names the option that is out of range', async () => {
    const { startGateway } = await import('./gateway.js');
    await assert.rejects(startGateway({ host: '127.0.0.1', port: 70_000 }), /port: expected an integer from 0 to 65535/);
    await assert.rejects(startGateway({ host: '127.0.0.1', port: 0, controlPlane: { url: 'cp:7070', token: 't' } }), /controlPlane\.url/);
    await assert.rejects(startGateway({ host: '127.0.0.1', port: 0, healthCheck: { path: 'healthz' } }), /healthCheck\.path/);
    await assert.rejects(startGateway({ host: '127.0.0.1', port: 0, outlier: { consecutiveFailures: 0 } }), /outlier\.consecutiveFailures/);
  });
});

/** A control plane on a real socket: a routing watch, metric pushes, and status reports answered `statusCode`. */
async function fakeControlPlane(firstTable: RoutingTable): Promise<{
  url: string;
  reports: DataPlaneStatusReport[];
  statusHits: () => number;
  pushes: () => number;
  setStatusCode(code: number): void;
  setTable(t: RoutingTable): void;
  close(): Promise<void>;
}> {
  let current = firstTable;
  let statusCode = 202;
  let statusHits = 0;
  let pushes = 0;
  const reports: DataPlaneStatusReport[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://cp');
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.headers.authorization !== 'Bearer t') return void res.writeHead(401).end();
      if (url.pathname === '/api/v1/dataplane/routing') {
        const after = Number(url.searchParams.get('after') ?? -1);
        // A short long-poll: answer 304 after 20 ms when nothing is newer.
        return void setTimeout(
          () =>
            current.version > after
              ? res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...current, weightScale: 10_000 }))
              : res.writeHead(304).end(),
          current.version > after ? 0 : 20,
        );
      }
      if (url.pathname === '/api/v1/dataplane/metrics') {
        pushes++;
        return void res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
      }
      if (url.pathname === '/api/v1/dataplane/status') {
        statusHits++;
        if (statusCode !== 202) return void res.writeHead(statusCode).end();
        reports.push(JSON.parse(body) as DataPlaneStatusReport);
        return void res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ routingVersion: current.version }));
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reports,
    statusHits: () => statusHits,
    pushes: () => pushes,
    setStatusCode: (code) => void (statusCode = code),
    setTable: (t) => void (current = t),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** A pino logger writing into `lines`. */
function capture(lines: Array<{ level: number; msg: string }>): Logger {
  return pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
}

const HAPROXY_FEATURES: RouterFeatures = { regexRules: false, equalsRules: true, websocket: true, bucketHashes: ['xxh32'] };

describe('status reports', () => {
  const tableV = (version: number): RoutingTable => ({ version, routes: [] });

  /** A sync driving a data plane that is just a version number. */
  const startDataPlane = (
    url: string,
    logger: Logger,
    status: Partial<StatusReportOptions> = {},
  ): { sync: SyncHandle; applied: () => number } => {
    let applied = 0;
    const sync = startSync({
      url,
      token: 't',
      gatewayId: 'edge-1',
      logger,
      currentVersion: () => applied,
      // An external proxy takes a moment to apply.
      apply: async (t) => {
        await sleep(10);
        applied = t.version;
      },
      // One window a drain: the metric push goes on whatever the status reports do.
      drainWindows: () => [
        {
          releaseId: 'r1',
          version: 'v2',
          windowStart: Date.now(),
          windowMs: 1_000,
          requests: 1,
          errors: 0,
          latency: {},
          feedbackSum: 0,
          feedbackCount: 0,
        },
      ],
      drainEvents: () => [],
      waitSeconds: 1,
      pushIntervalMs: 20,
      backoff: { baseMs: 10, capMs: 50 },
      status: { dataPlane: 'edge-1', kind: 'haproxy', features: HAPROXY_FEATURES, services: ['checkout'], intervalMs: 60_000, ...status },
    });
    return { sync, applied: () => applied };
  };

  it('reports the applied version after every applied table, with kind, features and services, and leaving on stop', async () => {
    const cp = await fakeControlPlane(tableV(4));
    // Heartbeat of a minute: every report seen here follows an applied table.
    const { sync, applied } = startDataPlane(cp.url, pino({ level: 'silent' }));
    try {
      await until(() => cp.reports.some((r) => r.appliedVersion === 4), 'report of version 4');
      assert.deepEqual(cp.reports[0], {
        dataPlane: 'edge-1',
        kind: 'haproxy',
        appliedVersion: 4,
        features: HAPROXY_FEATURES,
        services: ['checkout'],
      });
      cp.setTable(tableV(7));
      await until(() => cp.reports.some((r) => r.appliedVersion === 7), 'report of version 7');
      assert.equal(applied(), 7);
      assert.ok(
        cp.reports.every((r) => r.appliedVersion === 4 || r.appliedVersion === 7),
        'no report names a version before it was applied',
      );
    } finally {
      await sync.stop();
    }
    assert.deepEqual(cp.reports.at(-1), {
      dataPlane: 'edge-1',
      kind: 'haproxy',
      appliedVersion: 7,
      features: HAPROXY_FEATURES,
      services: ['checkout'],
      leaving: true,
    });
    await cp.close();
  });

  it('repeats the report as a heartbeat while nothing changes', async () => {
    const cp = await fakeControlPlane(tableV(2));
    const { sync } = startDataPlane(cp.url, pino({ level: 'silent' }), { intervalMs: 40 });
    try {
      await until(() => cp.reports.filter((r) => r.appliedVersion === 2).length >= 5, 'five reports of version 2');
      // A heartbeat may go out before the first table is applied: it then says 0.
      const versions = [...new Set(cp.reports.map((r) => r.appliedVersion))];
      assert.ok(
        versions.every((v) => v === 0 || v === 2),
        `versions reported: ${versions.join(', ')}`,
      );
      assert.ok(
        cp.reports.every((r) => r.leaving === undefined),
        'no leaving report before stop',
      );
    } finally {
      await sync.stop();
      await cp.close();
    }
  });

  it('keeps watching and pushing metrics when the control plane does not know status reports (404), says so once, and picks them up later', async () => {
    const cp = await fakeControlPlane(tableV(1));
    cp.setStatusCode(404);
    const lines: Array<{ level: number; msg: string }> = [];
    const { sync, applied } = startDataPlane(cp.url, capture(lines), { intervalMs: 30 });
    try {
      await until(() => cp.statusHits() >= 4, 'four status attempts');
      cp.setTable(tableV(2));
      await until(() => applied() === 2, 'version 2 applied');
      await until(() => cp.pushes() >= 2, 'metric pushes');
      const notKnown = lines.filter((l) => /does not know data-plane status reports/.test(l.msg));
      assert.equal(notKnown.length, 1, 'said once');
      assert.equal(notKnown[0]?.level, 30, 'at info');
      assert.deepEqual(
        lines.filter((l) => l.level >= 40).map((l) => l.msg),
        [],
        'no warnings about a control plane that is merely older',
      );
      cp.setStatusCode(202);
      await until(() => cp.reports.some((r) => r.appliedVersion === 2), 'report accepted after the upgrade');
    } finally {
      await sync.stop();
      await cp.close();
    }
  });

  it('reports a failing status endpoint as a warning and keeps the watch going', async () => {
    const cp = await fakeControlPlane(tableV(1));
    cp.setStatusCode(503);
    const lines: Array<{ level: number; msg: string }> = [];
    const { sync, applied } = startDataPlane(cp.url, capture(lines), { intervalMs: 30 });
    try {
      await until(() => cp.statusHits() >= 3, 'three status attempts');
      cp.setTable(tableV(3));
      await until(() => applied() === 3, 'version 3 applied');
      assert.equal(lines.filter((l) => /status report failed/.test(l.msg) && l.level === 40).length, 1, 'one warning per failing streak');
    } finally {
      await sync.stop();
      await cp.close();
    }
  });

  it('the built-in gateway reports as the builtin data plane under its id', async () => {
    const { startGateway } = await import('./gateway.js');
    const cp = await fakeControlPlane(tableV(5));
    const gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      admin: false,
      logger: pino({ level: 'silent' }),
      controlPlane: { url: cp.url, token: 't', waitSeconds: 1, statusIntervalMs: 50 },
    });
    try {
      await until(() => cp.reports.some((r) => r.appliedVersion === 5), 'report of version 5');
      assert.deepEqual(
        cp.reports.find((r) => r.appliedVersion === 5),
        {
          dataPlane: gw.id,
          kind: 'builtin',
          appliedVersion: 5,
          features: { regexRules: true, equalsRules: true, websocket: true, bucketHashes: ['xxh32', 'murmur3'] },
          services: null,
        },
      );
    } finally {
      await gw.close();
    }
    assert.equal(cp.reports.at(-1)?.leaving, true, 'leaving on close');
    await cp.close();
  });
});
