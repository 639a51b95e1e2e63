/**
 * The gateway's drain (close): a request in flight finishes and is answered `Connection: close`;
 * a kept-alive connection that sends its next request within the first second of the drain is
 * answered too, with `Connection: close`; new connections are refused; an idle one is closed
 * after that second; close() resolves long before its grace ends when nothing is left.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type Gateway } from '../src/gateway/gateway.js';
import { route, silent, startBackend, table, type Backend } from './fixtures/gateway-harness.js';

/** A raw keep-alive connection: sends one request at a time and returns each full answer's head. */
async function rawConnection(port: number): Promise<{ socket: Socket; ask(path: string): Promise<string>; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffered = '';
  let waiting: ((head: string) => void) | null = null;
  socket.on('data', (d: Buffer) => {
    buffered += d.toString('latin1');
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0 || waiting === null) return;
    const head = buffered.slice(0, end);
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    if (buffered.length < end + 4 + length) return;
    buffered = buffered.slice(end + 4 + length);
    const done = waiting;
    waiting = null;
    done(head);
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  return {
    socket,
    closed,
    ask: (path) =>
      new Promise((resolve) => {
        waiting = resolve;
        socket.write(`GET ${path} HTTP/1.1\r\nhost: shop\r\nx-user: u1\r\n\r\n`);
      }),
  };
}

describe('gateway drain', { timeout: 10_000 }, () => {
  let backend: Backend;
  let gw: Gateway;
  before(async () => {
    backend = await startBackend('v1');
    gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: table(1, route({ header: 'x-user', stable: [backend.url] })),
    });
  });
  after(async () => {
    await gw.close();
    await backend.close();
  });

  it('finishes requests in flight, answers kept-alive connections Connection: close, closes idle ones, refuses new ones', async () => {
    const busy = await rawConnection(gw.port);
    const idle = await rawConnection(gw.port);
    const silentOne = await rawConnection(gw.port);
    assert.match(await idle.ask('/'), /connection: keep-alive/i, 'before the drain, connections are kept alive');
    assert.match(await silentOne.ask('/'), /connection: keep-alive/i);
    const inFlight = busy.ask('/slow?ms=600');
    await sleep(100);
    const started = Date.now();
    const closing = gw.close();
    await sleep(200);
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(gw.port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(false))).once('error', () => resolve(true));
    });
    assert.ok(refused, 'a new connection is refused while draining');
    const next = await idle.ask('/');
    assert.match(next, /^HTTP\/1\.1 200/);
    assert.match(next, /connection: close/i, 'the next answer on a kept-alive connection closes it');
    await idle.closed;
    const slow = await inFlight;
    assert.match(slow, /^HTTP\/1\.1 200/, 'the request in flight finished');
    assert.match(slow, /connection: close/i);
    await busy.closed;
    await silentOne.closed;
    await closing;
    const tookMs = Date.now() - started;
    assert.ok(tookMs >= 900 && tookMs < 3_000, `an idle connection is given a second, then closed (${tookMs} ms)`);
  });
});
