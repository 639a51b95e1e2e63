/**
 * Control-plane sync against a scripted control plane on a real socket: the long-poll watch,
 * metric pushes with retry, fail static with the persisted state file, and recovery.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricWindow, RoutingTable } from '../src/core/types.js';
import { totalCount } from '../src/core/latency-histogram.js';
import { startGateway, type Gateway } from '../src/gateway/gateway.js';
import { client, closedPort, route, silent, startBackend, table, type Backend } from './fixtures/gateway-harness.js';

const TOKEN = 'gw-secret-token';

/** A scripted control plane speaking the data-plane half of the API. */
interface FakeControlPlane {
  readonly url: string;
  readonly pushes: Array<{ gateway: string; windows: MetricWindow[] }>;
  /** Remaining pushes to refuse with 503. */
  refusePushes: number;
  polls: number;
  setTable(t: RoutingTable): void;
  close(): Promise<void>;
}

async function startFakeControlPlane(initial: RoutingTable, port = 0): Promise<FakeControlPlane> {
  let current = initial;
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();
  const cp: FakeControlPlane = {
    url: '',
    pushes: [],
    refusePushes: 0,
    polls: 0,
    setTable(t) {
      current = t;
      for (const w of waiters) w();
    },
    close: () => Promise.resolve(),
  };
  const watch = (url: URL, res: ServerResponse): void => {
    cp.polls++;
    const after = Number(url.searchParams.get('after') ?? -1);
    const waitMs = Number.parseFloat(url.searchParams.get('wait') ?? '30') * 1000;
    const answer = (): void => {
      waiters.delete(answer);
      clearTimeout(timer);
      if (res.writableEnded) return;
      if (current.version > after)
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...current, weightScale: 10_000 }));
      else res.writeHead(304).end();
    };
    const timer = setTimeout(answer, current.version > after ? 0 : waitMs);
    waiters.add(answer);
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://cp');
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end();
    if (url.pathname === '/api/v1/dataplane/routing') return watch(url, res);
    // Status reports (status-report.ts): this scripted control plane predates them.
    if (url.pathname === '/api/v1/dataplane/status') return void req.resume().on('end', () => res.writeHead(404).end());
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (cp.refusePushes > 0) {
        cp.refusePushes--;
        return void res.writeHead(503).end();
      }
      cp.pushes.push(JSON.parse(body) as { gateway: string; windows: MetricWindow[] });
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":1}');
    });
  };
  const server: Server = createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  Object.assign(cp, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const w of waiters) w();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  });
  return cp;
}

async function until(check: () => boolean, timeoutMs = 3_000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - started;
}

describe('control-plane sync', () => {
  let stable: Backend;
  let canary: Backend;
  let dir: string;
  const http = client();
  const fast = { baseMs: 20, capMs: 200 };

  before(async () => {
    [stable, canary] = await Promise.all([startBackend('v1'), startBackend('v2')]);
    dir = await mkdtemp(join(tmpdir(), 'tern-gw-sync-'));
  });
  after(async () => {
    await http.agent.close();
    await Promise.all([stable.close(), canary.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  const canaryTable = (version: number, weight: number): RoutingTable =>
    table(
      version,
      route({
        service: 'checkout',
        header: 'x-user',
        stable: [stable.url],
        canary: { endpoints: [canary.url], weight, releaseId: 'rel-sync' },
      }),
    );

  it('adopts the control plane table, follows weight changes on two gateways, and persists them', async () => {
    const cp = await startFakeControlPlane(canaryTable(3, 0));
    const stateFiles = [join(dir, 'a.json'), join(dir, 'b.json')];
    const gws: Gateway[] = [];
    for (const stateFile of stateFiles) {
      gws.push(
        await startGateway({
          host: '127.0.0.1',
          port: 0,
          logger: silent,
          admin: false,
          stateFile,
          controlPlane: { url: cp.url, token: TOKEN, waitSeconds: 5, backoff: fast },
        }),
      );
    }
    try {
      assert.deepEqual(
        gws.map((g) => g.tableVersion()),
        [3, 3],
        'startGateway waits for the first answer',
      );
      assert.equal((await http.get(`${gws[0]!.url}/`, { 'x-user': 'u1' })).text, 'v1');
      const delays: number[] = [];
      for (const [version, weight] of [
        [4, 10_000],
        [5, 0],
        [6, 10_000],
      ] as const) {
        const changed = Date.now();
        cp.setTable(canaryTable(version, weight));
        await until(() => gws.every((g) => g.tableVersion() === version));
        delays.push(Date.now() - changed);
        const want = weight === 0 ? 'v1' : 'v2';
        for (const g of gws) assert.equal((await http.get(`${g.url}/`, { 'x-user': 'u1' })).text, want);
      }
      assert.ok(Math.max(...delays) < 1_000, `propagation took ${delays.join(', ')} ms`);
      for (const g of gws) await g.close();
      for (const file of stateFiles) assert.equal((JSON.parse(await readFile(file, 'utf8')) as RoutingTable).version, 6);
    } finally {
      await Promise.all(gws.map((g) => g.close()));
      await cp.close();
    }
  });

  it('pushes one-second windows per version, retrying pushes the control plane refused', async () => {
    const cp = await startFakeControlPlane(canaryTable(1, 5_000));
    cp.refusePushes = 2;
    const gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      controlPlane: { url: cp.url, token: TOKEN, waitSeconds: 5, pushIntervalMs: 100, backoff: fast },
    });
    try {
      const users = Array.from({ length: 200 }, (_, i) => `m${i}`);
      const served = await Promise.all(users.map(async (u) => (await http.get(`${gw.url}/`, { 'x-user': u })).text));
      const sum = (version: string): number =>
        cp.pushes
          .flatMap((p) => p.windows)
          .filter((w) => w.version === version)
          .reduce((n, w) => n + w.requests, 0);
      await until(() => sum('v1') + sum('v2') === users.length, 5_000);
      assert.equal(sum('v2'), served.filter((v) => v === 'v2').length);
      const windows = cp.pushes.flatMap((p) => p.windows);
      for (const w of windows) {
        assert.equal(w.releaseId, 'rel-sync');
        assert.equal(w.windowMs, 1_000);
        assert.equal(w.windowStart % 1_000, 0);
        assert.equal(totalCount(w.latency), w.requests);
        assert.equal(w.errors, 0);
      }
      assert.ok(cp.pushes.every((p) => p.gateway === gw.id));
      assert.equal(cp.refusePushes, 0);
    } finally {
      await gw.close();
      await cp.close();
    }
  });

  it('keeps routing on the last table while the control plane is down, and catches up when it returns', async () => {
    const cp = await startFakeControlPlane(canaryTable(7, 10_000));
    const port = Number(new URL(cp.url).port);
    const gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      controlPlane: { url: cp.url, token: TOKEN, waitSeconds: 5, backoff: fast },
    });
    try {
      assert.equal(gw.tableVersion(), 7);
      await cp.close();
      for (let i = 0; i < 20; i++) assert.equal((await http.get(`${gw.url}/`, { 'x-user': `down-${i}` })).text, 'v2');
      const back = await startFakeControlPlane(canaryTable(8, 0), port);
      try {
        await until(() => gw.tableVersion() === 8, 3_000);
        assert.equal((await http.get(`${gw.url}/`, { 'x-user': 'down-1' })).text, 'v1');
      } finally {
        await back.close();
      }
    } finally {
      await gw.close();
    }
  });

  it('follows the next control-plane URL when the one it follows goes away', async () => {
    const first = await startFakeControlPlane(canaryTable(7, 10_000));
    const second = await startFakeControlPlane(canaryTable(7, 10_000));
    const gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      controlPlane: { url: [first.url, second.url], token: TOKEN, waitSeconds: 5, backoff: fast },
    });
    try {
      assert.equal(gw.tableVersion(), 7);
      await first.close();
      second.setTable(canaryTable(8, 0));
      await until(() => gw.tableVersion() === 8, 3_000);
      assert.equal((await http.get(`${gw.url}/`, { 'x-user': 'down-1' })).text, 'v1');
    } finally {
      await gw.close();
      await second.close();
    }
  });

  it('starts from the persisted state file when the control plane is unreachable', async () => {
    const stateFile = join(dir, 'restart.json');
    const cp = await startFakeControlPlane(canaryTable(9, 10_000));
    const first = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      stateFile,
      controlPlane: { url: cp.url, token: TOKEN, waitSeconds: 5, backoff: fast },
    });
    await first.close();
    await cp.close();
    const unreachable = `http://127.0.0.1:${await closedPort()}`;
    const restarted = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      stateFile,
      controlPlane: { url: unreachable, token: TOKEN, backoff: fast },
    });
    try {
      assert.equal(restarted.tableVersion(), 9);
      assert.equal((await http.get(`${restarted.url}/`, { 'x-user': 'anyone' })).text, 'v2');
    } finally {
      await restarted.close();
    }
  });

  it('keeps its table when the token is refused', async () => {
    const cp = await startFakeControlPlane(canaryTable(2, 0));
    const gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: canaryTable(1, 10_000),
      controlPlane: { url: cp.url, token: 'wrong', backoff: fast },
      startupWaitMs: 500,
    });
    try {
      assert.equal(gw.tableVersion(), 1);
      assert.equal((await http.get(`${gw.url}/`, { 'x-user': 'x' })).text, 'v2');
    } finally {
      await gw.close();
      await cp.close();
    }
  });
});
