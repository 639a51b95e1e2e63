/**
 * Streaming through the gateway: a 100 MiB upload and download with bounded memory, and
 * WebSocket upgrade pass-through.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startGateway, type Gateway } from '../src/gateway/gateway.js';
import { client, closedPort, route, silent, startBackend, table, type Backend } from './fixtures/gateway-harness.js';

const MiB = 1024 * 1024;

function bytes(total: number): Readable {
  const chunk = Buffer.alloc(64 * 1024, 97);
  let left = total;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Runs `fn` while sampling RSS; returns the peak growth over the RSS at the start, in bytes.
 * Collects garbage before each sample: 100 MiB of short-lived chunks would otherwise show up
 * as growth without being held by anyone, and this measures what the gateway holds.
 */
async function peakRssGrowth(fn: () => Promise<void>): Promise<number> {
  gc();
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => {
    gc();
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 25);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage.rss()) - base;
}

/** Sends a WebSocket handshake on a raw socket; resolves with the response head and the socket. */
function handshake(url: string, path: string): Promise<{ head: string; socket: Socket; rest: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      resolve({ head: buf.subarray(0, end).toString('latin1'), socket, rest: buf.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

describe('gateway streaming', () => {
  let backend: Backend;
  let gw: Gateway;
  let dead: string;
  const http = client();

  before(async () => {
    backend = await startBackend('v1');
    dead = `http://127.0.0.1:${await closedPort()}`;
    gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: table(
        1,
        route({ service: 'files', pathPrefix: '/', stable: [backend.url] }),
        route({ service: 'gone', pathPrefix: '/gone', stable: [dead] }),
      ),
    });
    // Warm up pools and JIT so the RSS baseline is not the first allocation of everything.
    const res = await request(`${gw.url}/download?bytes=${16 * MiB}`, { dispatcher: http.agent });
    await res.body.dump();
    const up = await request(`${gw.url}/upload`, { dispatcher: http.agent, method: 'POST', body: bytes(16 * MiB) });
    await up.body.dump();
  });
  after(async () => {
    await gw.close();
    await http.agent.close();
    await backend.close();
  });

  it('streams a 100 MiB upload with bounded memory', async () => {
    let answer = '';
    const growth = await peakRssGrowth(async () => {
      const res = await request(`${gw.url}/upload`, {
        dispatcher: http.agent,
        method: 'POST',
        body: bytes(100 * MiB),
        headers: { 'content-type': 'application/octet-stream' },
      });
      answer = await res.body.text();
    });
    assert.equal(answer, String(100 * MiB));
    assert.ok(growth < 48 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  });

  it('streams a 100 MiB download with bounded memory', async () => {
    let received = 0;
    const growth = await peakRssGrowth(async () => {
      const res = await request(`${gw.url}/download?bytes=${100 * MiB}`, { dispatcher: http.agent });
      assert.equal(res.headers['content-length'], String(100 * MiB));
      for await (const chunk of res.body) received += (chunk as Buffer).length;
    });
    assert.equal(received, 100 * MiB);
    assert.ok(growth < 48 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  });

  it('holds back the client while the upstream does not read (backpressure, no buffering)', async () => {
    let produced = 0;
    const chunk = Buffer.alloc(64 * 1024, 98);
    const body = new Readable({
      read() {
        if (produced >= 100 * MiB) return void this.push(null);
        produced += chunk.length;
        this.push(chunk);
      },
    });
    const pending = request(`${gw.url}/upload-stall?ms=700`, { dispatcher: http.agent, method: 'POST', body });
    await new Promise((r) => setTimeout(r, 500));
    // Only socket and stream buffers can be in flight: a buffering proxy would have taken it all.
    assert.ok(produced < 24 * MiB, `${(produced / MiB).toFixed(1)} MiB left the client while the upstream read nothing`);
    assert.equal(await (await pending).body.text(), String(100 * MiB));
  });

  it('holds back the upstream while the client does not read', async () => {
    const res = await request(`${gw.url}/download?bytes=${100 * MiB}`, { dispatcher: http.agent });
    await new Promise((r) => setTimeout(r, 500));
    const written = backend.stats.downloadWritten;
    let received = 0;
    for await (const chunk of res.body) received += (chunk as Buffer).length;
    assert.equal(received, 100 * MiB);
    assert.ok(written < 24 * MiB, `the upstream wrote ${(written / MiB).toFixed(1)} MiB while the client read nothing`);
  });

  it('passes each chunk of a streamed answer on at once (server-sent events do not wait for the end)', async () => {
    let finish = (): void => undefined;
    const upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      finish = () => {
        finish = () => undefined;
        res.end('data: last\n\n');
      };
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const sse = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: table(
        1,
        route({ service: 'events', pathPrefix: '/', stable: [`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`] }),
      ),
    });
    const abort = new AbortController();
    try {
      const firstChunk = async (): Promise<{ first: string; chunks: AsyncIterator<unknown> }> => {
        const res = await request(`${sse.url}/events`, { dispatcher: http.agent, signal: abort.signal });
        const chunks = res.body[Symbol.asyncIterator]();
        const next = await chunks.next();
        return { first: Buffer.from(next.value as Buffer).toString(), chunks };
      };
      const pending = firstChunk();
      pending.catch(() => undefined); // rejects with the abort below when the chunk never came
      const got = await Promise.race([pending, new Promise<null>((r) => setTimeout(() => r(null), 2_000))]);
      assert.ok(got !== null, 'the first event did not reach the client while the stream stayed open');
      assert.equal(got.first, 'data: first\n\n');
      finish();
      let rest = '';
      for (let next = await got.chunks.next(); next.done !== true; next = await got.chunks.next())
        rest += Buffer.from(next.value as Buffer).toString();
      assert.equal(rest, 'data: last\n\n');
    } finally {
      finish();
      abort.abort();
      await sse.close();
      upstream.closeAllConnections();
      await new Promise((r) => upstream.close(r));
    }
  });

  it('survives a client that aborts a download midway, and keeps serving', async () => {
    const controller = new AbortController();
    const res = await request(`${gw.url}/download?bytes=${50 * MiB}`, { dispatcher: http.agent, signal: controller.signal });
    let got = 0;
    await assert.rejects(async () => {
      for await (const chunk of res.body) {
        got += (chunk as Buffer).length;
        if (got > MiB) controller.abort();
      }
    });
    assert.equal((await http.get(`${gw.url}/hello`)).text, 'v1');
  });

  it('aborts the upstream request when the client abandons an upload midway', async () => {
    const controller = new AbortController();
    let produced = 0;
    const chunk = Buffer.alloc(64 * 1024, 99);
    const body = new Readable({
      read() {
        produced += chunk.length;
        if (produced > 8 * MiB) controller.abort();
        this.push(chunk);
      },
    });
    await assert.rejects(
      request(`${gw.url}/upload`, {
        dispatcher: http.agent,
        method: 'POST',
        body,
        headers: { 'content-length': String(100 * MiB) },
        signal: controller.signal,
      }),
    );
    const deadline = Date.now() + 2_000;
    while (backend.stats.uploadsAborted === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(backend.stats.uploadsAborted, 1);
    assert.equal((await http.get(`${gw.url}/hello`)).text, 'v1');
  });

  it('passes a WebSocket upgrade through and echoes bytes both ways', async () => {
    const { head, socket, rest } = await handshake(gw.url, '/ws/chat');
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.match(head, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
    assert.match(head, /x-backend: v1/i);
    const echoed = new Promise<string>((resolve) => {
      let text = rest.toString('latin1');
      const check = (): void => (text.includes('ping-2') ? resolve(text) : undefined);
      socket.on('data', (c: Buffer) => {
        text += c.toString('latin1');
        check();
      });
      check();
    });
    socket.write('ping-1 ');
    socket.write('ping-2');
    assert.equal(await echoed, 'ping-1 ping-2');
    socket.destroy();
    const seen = backend.seen.find((r) => r.url === '/ws/chat');
    assert.equal(seen?.headers.upgrade, 'websocket');
    assert.equal(seen?.headers['x-forwarded-for'], '127.0.0.1');
  });

  it('answers 502 to an upgrade whose endpoint is down', async () => {
    const { head, socket } = await handshake(gw.url, '/gone/ws');
    socket.destroy();
    assert.match(head, /^HTTP\/1\.1 502 /);
  });
});
