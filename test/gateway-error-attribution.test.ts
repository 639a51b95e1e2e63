/**
 * Whose errors the gateway's evidence shows, over real sockets: the (hashed) users who got a
 * version's 5xx, and the gateway's own failures kept out of the version's errors — provoked
 * for real in a child gateway that runs out of file descriptors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { MetricWindow } from '../src/core/types.js';
import { userHash } from '../src/gateway/error-users.js';
import { startGateway, type Gateway } from '../src/gateway/gateway.js';
import type { SeriesTotals } from '../src/gateway/metrics.js';
import { client, route, silent, startBackend, table, type Backend } from './fixtures/gateway-harness.js';
import { ROOT } from './support/processes.js';

/** Waits until the current second has closed, then drains the gateway's windows. */
async function closedWindows(gw: Gateway): Promise<MetricWindow[]> {
  await new Promise((r) => setTimeout(r, 1_050 - (Date.now() % 1_000)));
  return gw.metrics.drainWindows();
}

describe('gateway: users behind a version’s errors', () => {
  let backend: Backend;
  let gw: Gateway;
  const http = client();

  before(async () => {
    backend = await startBackend('B');
    gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: table(
        1,
        route({
          service: 'app',
          pathPrefix: '/app',
          header: 'x-user-id',
          stable: [backend.url],
          canary: { endpoints: [backend.url], weight: 10_000, salt: 'salt-1', releaseId: 'rel-1' },
        }),
      ),
    });
  });
  after(async () => {
    await gw.close();
    await http.agent.close();
    await backend.close();
  });

  it('reports the hash of the user who got 5xx from the backend, with their count, and never the raw key', async () => {
    for (let i = 0; i < 5; i++) {
      assert.equal((await http.get(`${gw.url}/app/status?code=503`, { 'x-user-id': 'alice@example.com' })).status, 503);
    }
    assert.equal((await http.get(`${gw.url}/app/status?code=500`, { 'x-user-id': 'bob' })).status, 500);
    for (const user of ['bob', 'carol', 'dave']) assert.equal((await http.get(`${gw.url}/app/`, { 'x-user-id': user })).status, 200);
    const windows = (await closedWindows(gw)).filter((w) => w.version === 'v2');
    const sum = (pick: (w: MetricWindow) => number): number => windows.reduce((n, w) => n + pick(w), 0);
    assert.deepEqual([sum((w) => w.requests), sum((w) => w.errors)], [9, 6]);
    const byUser: Record<string, number> = {};
    for (const w of windows) for (const [k, n] of Object.entries(w.errorUsers ?? {})) byUser[k] = (byUser[k] ?? 0) + n;
    assert.deepEqual(byUser, { [userHash('salt-1', 'alice@example.com')]: 5, [userHash('salt-1', 'bob')]: 1 });
    assert.doesNotMatch(JSON.stringify(windows), /alice|bob|carol/);
  });
});

interface Line {
  url?: string;
  filled?: number;
  code?: string;
  freed?: boolean;
  windows?: MetricWindow[];
  totals?: SeriesTotals[];
  prometheus?: string;
}

/** The fixture gateway under `ulimit -n`, driven line by line. */
function startLimitedGateway(backendUrl: string, fdLimit: number): { child: ChildProcessWithoutNullStreams; next: () => Promise<Line> } {
  const fixture = path.join(ROOT, 'test', 'fixtures', 'emfile-gateway.ts');
  const child = spawn('bash', ['-c', `ulimit -n ${fdLimit} && exec "$0" --import tsx "$1" "$2"`, process.execPath, fixture, backendUrl], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]() as AsyncIterator<string>;
  const next = async (): Promise<Line> => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      const read = await lines.next();
      assert.ok(read.done !== true, `the fixture gateway ended early: ${stderr}`);
      return JSON.parse(read.value) as Line;
    } finally {
      clearTimeout(timer);
    }
  };
  return { child, next };
}

/** One HTTP/1.1 exchange on an open socket; resolves with the status of the answer. */
function exchange(socket: Socket, path: string, userId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString();
      const head = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n/.exec(text);
      const length = /\r\ncontent-length: (\d+)/i.exec(text);
      if (head && length && text.length >= head[0].length + Number(length[1])) {
        socket.off('data', onData);
        resolve(Number(head[1]));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nhost: gw.test\r\nx-user-id: ${userId}\r\n\r\n`);
  });
}

describe('gateway: its own failures are not the version’s errors', () => {
  let backend: Backend;
  let gateway: ReturnType<typeof startLimitedGateway>;

  before(async () => {
    backend = await startBackend('B');
    gateway = startLimitedGateway(backend.url, 256);
  });
  after(async () => {
    gateway.child.kill('SIGKILL');
    await backend.close();
  });

  it('answers 503 when it runs out of file descriptors and counts a gateway error, not a canary error', async () => {
    const { url } = await gateway.next();
    assert.ok(url);
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    try {
      // The client's connection is accepted (a 404 for an unknown path comes back) before
      // the gateway's descriptors are all taken; the proxied request then cannot open an
      // upstream connection: EMFILE.
      assert.equal(await exchange(socket, '/nothing-here', 'alice'), 404);
      gateway.child.stdin.write('fill\n');
      const filled = await gateway.next();
      assert.equal(filled.code, 'EMFILE');
      assert.equal(await exchange(socket, '/app/', 'alice'), 503);
      assert.equal(await exchange(socket, '/app/', 'alice'), 503);
      gateway.child.stdin.write('free\n');
      assert.ok((await gateway.next()).freed);
      assert.equal(await exchange(socket, '/app/', 'alice'), 200, 'the backend was healthy all along');
    } finally {
      socket.destroy();
    }
    gateway.child.stdin.write('windows\n');
    const { windows = [], totals = [], prometheus = '' } = await gateway.next();
    const canary = windows.filter((w) => w.version === 'v2');
    const sum = (pick: (w: MetricWindow) => number): number => canary.reduce((n, w) => n + pick(w), 0);
    assert.deepEqual([sum((w) => w.requests), sum((w) => w.errors), sum((w) => w.gatewayErrors ?? 0)], [3, 0, 2], JSON.stringify(windows));
    assert.ok(
      canary.every((w) => w.errorUsers === undefined),
      'no user is blamed for the gateway’s failure',
    );
    assert.deepEqual(
      totals.map((t) => [t.version, t.errors, t.gatewayErrors]),
      [['v2', 0, 2]],
    );
    assert.match(prometheus, /tern_gateway_gateway_errors_total\{service="app",role="canary"\} 2/);
    assert.doesNotMatch(prometheus, /tern_gateway_upstream_errors_total\{/, 'the endpoint was not blamed either');
  });
});
