/**
 * Connection limits and timeouts at the gateway: slow and idle
 * clients are timed out with 408, a client over its per-address cap or over the total cap gets
 * a clean 503 with Connection: close, and normal users keep getting answers meanwhile with no
 * error counted against any version. CI-sized: a few hundred connections, small caps.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { startGateway, type Gateway } from '../src/gateway/gateway.js';
import { connectionCapFor, openFileLimit } from '../src/gateway/limits.js';
import { route, silent, startBackend, table, type Backend } from './fixtures/gateway-harness.js';

interface Held {
  readonly socket: Socket;
  /** Everything received so far. */
  text: string;
  /** ms from connect to close, once closed. */
  closedAfter: number | null;
}

/** Opens a connection from `localAddress` and keeps what comes back; resolves once connected. */
function hold(url: string, localAddress: string, first = ''): Promise<Held> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress });
    const started = performance.now();
    const held: Held = { socket, text: '', closedAfter: null };
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (held.text += c));
    socket.on('close', () => (held.closedAfter = performance.now() - started));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      if (first !== '') socket.write(first);
      resolve(held);
    });
    socket.once('error', reject);
  });
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await sleep(20);
  return check();
}

describe('gateway timeouts', () => {
  let backend: Backend;
  let gw: Gateway;

  before(async () => {
    backend = await startBackend('v1');
    gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: table(1, route({ stable: [backend.url] })),
      limits: { headersTimeoutMs: 500, bodyIdleTimeoutMs: 500 },
    });
  });
  after(async () => {
    await gw.close();
    await backend.close();
  });

  it('answers 408 to a client that sends one header line at a time and closes it within the headers timeout', async () => {
    const slow = await hold(gw.url, '127.0.0.1', 'GET /slow-headers HTTP/1.1\r\n');
    const drip = setInterval(() => slow.socket.write('x-drip: 1\r\n'), 150);
    try {
      assert.ok(await until(() => slow.closedAfter !== null, 3_000), 'the slow client is still connected after 3 s');
      assert.match(slow.text, /^HTTP\/1\.1 408 /);
      assert.ok(slow.closedAfter! < 1_500, `closed after ${Math.round(slow.closedAfter!)} ms`);
    } finally {
      clearInterval(drip);
      slow.socket.destroy();
    }
    assert.equal(backend.seen.filter((r) => r.url === '/slow-headers').length, 0);
  });

  it('closes a connection that never sends a byte within the headers timeout', async () => {
    const idle = await hold(gw.url, '127.0.0.1');
    assert.ok(await until(() => idle.closedAfter !== null, 3_000), 'the idle connection is still open after 3 s');
    assert.ok(idle.closedAfter! < 1_500, `closed after ${Math.round(idle.closedAfter!)} ms`);
    idle.socket.destroy();
  });

  it('frees the connection of a client that never closes its side after the 408', async () => {
    const { hostname, port } = new URL(gw.url);
    const stubborn = connect({ host: hostname, port: Number(port), allowHalfOpen: true });
    let text = '';
    stubborn.setEncoding('latin1');
    stubborn.on('data', (c: string) => (text += c));
    stubborn.on('error', () => undefined);
    stubborn.on('end', () => undefined); // keeps its side open: no end() in reply
    await new Promise((resolve) => stubborn.once('connect', resolve));
    stubborn.write('GET /half HTTP/1.1\r\n');
    try {
      assert.ok(await until(() => text.startsWith('HTTP/1.1 408 '), 3_000));
      assert.ok(await until(() => gw.connections().open === 0, 3_000), `still open at the gateway: ${gw.connections().open}`);
    } finally {
      stubborn.destroy();
    }
  });

  it('answers 408 to a request body that stops flowing, and counts no version error', async () => {
    const stalled = await hold(gw.url, '127.0.0.1', 'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nhalf');
    assert.ok(await until(() => stalled.closedAfter !== null, 3_000), 'the stalled upload is still open after 3 s');
    assert.match(stalled.text, /^HTTP\/1\.1 408 /);
    stalled.socket.destroy();
    assert.deepEqual(
      gw.metrics.totals().map((t) => t.errors),
      gw.metrics.totals().map(() => 0),
    );
  });

  it('keeps an idle keep-alive connection open past node’s 5 s default (75 s by default)', async () => {
    const user = await hold(gw.url, '127.0.0.1', 'GET /first HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.ok(await until(() => user.text.includes('v1'), 2_000));
    await sleep(6_000);
    assert.equal(user.closedAfter, null, 'the gateway closed an idle keep-alive connection after ~5 s');
    user.socket.write('GET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.ok(await until(() => user.closedAfter !== null, 2_000));
    assert.equal(user.text.match(/HTTP\/1\.1 200 /g)?.length, 2);
  });
});

describe('gateway connection caps', () => {
  let backend: Backend;
  let gw: Gateway;
  const held: Held[] = [];

  before(async () => {
    backend = await startBackend('v1');
    const canary = await startBackend('v2');
    gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: table(1, route({ stable: [backend.url], canary: { endpoints: [canary.url], weight: 5_000 } })),
      limits: { maxConnectionsPerClient: 50, maxConnections: 140, headersTimeoutMs: 5_000 },
    });
    after(() => canary.close());
  });
  after(async () => {
    for (const h of held) h.socket.destroy();
    await gw.close();
    await backend.close();
  });

  it('refuses a client over its per-address cap with 503 and Connection: close, and serves other users meanwhile', async () => {
    // 300 slow-header connections from one address: 50 admitted, 250 refused.
    for (let i = 0; i < 300; i++) held.push(await hold(gw.url, '127.0.0.2', 'GET /slow HTTP/1.1\r\n'));
    const refused = held.filter((h) => h.text.startsWith('HTTP/1.1 503 '));
    assert.ok(await until(() => held.filter((h) => h.text.startsWith('HTTP/1.1 503 ')).length === 250, 3_000));
    assert.match(refused[0]?.text ?? held.find((h) => h.text !== '')!.text, /connection: close/i);
    assert.ok(await until(() => held.filter((h) => h.closedAfter !== null).length === 250, 3_000), 'refused connections are closed');
    assert.equal(gw.connections().open, 50);

    const agent = new Agent({ connections: 10, localAddress: '127.0.0.1' });
    try {
      const answers = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const res = await request(`${gw.url}/user/${i}`, { dispatcher: agent, headers: { cookie: `tern_uid=u${i}` } });
          await res.body.text();
          return res.statusCode;
        }),
      );
      assert.deepEqual(new Set(answers), new Set([200]));
    } finally {
      await agent.close();
    }
  });

  it('refuses connections over the total cap, then admits again once some close', async () => {
    for (let i = 0; i < 50; i++) held.push(await hold(gw.url, '127.0.0.3', 'GET /slow HTTP/1.1\r\n'));
    const more: Held[] = [];
    for (let i = 0; i < 45; i++) more.push(await hold(gw.url, '127.0.0.4', 'GET /slow HTTP/1.1\r\n'));
    held.push(...more);
    // 50 + 50 + 40 = 140 admitted; the last 5 from 127.0.0.4 are over the total cap.
    assert.ok(await until(() => more.filter((h) => h.text.startsWith('HTTP/1.1 503 ')).length === 5, 3_000));
    assert.equal(gw.connections().open, 140);
    for (const h of more.slice(0, 10)) h.socket.destroy();
    assert.ok(await until(() => gw.connections().open === 130, 2_000));
    const res = await request(`${gw.url}/after`, { headers: { connection: 'close' } });
    assert.equal(res.statusCode, 200);
    await res.body.text();
  });

  it('counts no refusal and no timeout as a version error', () => {
    const totals = gw.metrics.totals();
    assert.ok(totals.reduce((n, t) => n + t.requests, 0) >= 200);
    assert.equal(
      totals.reduce((n, t) => n + t.errors, 0),
      0,
    );
    assert.ok(gw.connections().refused >= 255);
  });
});

describe('default connection cap', () => {
  it('leaves max(256, 10%) of the open-file limit for the gateway’s own work', () => {
    assert.equal(connectionCapFor(20_000), 18_000);
    assert.equal(connectionCapFor(1_024), 768);
    assert.equal(
      openFileLimit(() => 'Max open files            4096                 8192                 files\n'),
      4_096,
    );
    assert.equal(
      openFileLimit(() => 'garbage'),
      1_024,
    );
  });
});

describe('limit options', () => {
  for (const [limits, field] of [
    [{ maxConnections: 0 }, 'limits.maxConnections'],
    [{ maxConnectionsPerClient: 1.5 }, 'limits.maxConnectionsPerClient'],
    [{ headersTimeoutMs: 20_000, requestTimeoutMs: 10_000 }, 'limits.headersTimeoutMs'],
    [{ maxHeaderCount: 5_000 }, 'limits.maxHeaderCount'],
  ] as const) {
    it(`refuses ${JSON.stringify(limits)} naming ${field}`, async () => {
      await assert.rejects(startGateway({ host: '127.0.0.1', port: 0, logger: silent, admin: false, limits }), (err: Error) =>
        err.message.includes(field),
      );
    });
  }
});

describe("tern server's built-in gateway", () => {
  it('takes the limits given to the server (here: one connection per client address)', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { startServer } = await import('../src/main.js');
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tern-limits-'));
    const server = await startServer({
      dataDir,
      host: '127.0.0.1',
      apiPort: 0,
      gatewayPort: 0,
      adminToken: 'limits-test-admin-token-0123456789',
      logger: silent,
      gatewayLimits: { maxConnectionsPerClient: 1 },
    });
    const held: Held[] = [];
    try {
      held.push(await hold(server.gatewayUrl!, '127.0.0.5', 'GET /x HTTP/1.1\r\n'));
      held.push(await hold(server.gatewayUrl!, '127.0.0.5', 'GET /y HTTP/1.1\r\n'));
      assert.ok(await until(() => held[1]!.text.startsWith('HTTP/1.1 503 '), 3_000), `second connection got: ${held[1]!.text}`);
      assert.equal(held[0]!.text, '');
    } finally {
      for (const h of held) h.socket.destroy();
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
