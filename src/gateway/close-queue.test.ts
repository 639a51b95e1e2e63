import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { CloseQueue } from './close-queue.js';
import { SilentReaper } from './silent-reaper.js';

/** `n` real loopback connections; resolves with the server side of each. */
async function accepted(server: Server, n: number): Promise<Socket[]> {
  const port = (server.address() as AddressInfo).port;
  const sockets: Socket[] = [];
  const all = new Promise<void>((resolve) => {
    const on = (s: Socket): void => {
      sockets.push(s);
      if (sockets.length === n) {
        server.off('connection', on);
        resolve();
      }
    };
    server.on('connection', on);
  });
  for (let i = 0; i < n; i++) connect({ host: '127.0.0.1', port }).on('error', () => undefined);
  await all;
  return sockets;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('CloseQueue', () => {
  let server: Server;
  before(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => server.close());

  it('destroys a few sockets per turn of the event loop, so thousands never stall it, and all of them in the end', async () => {
    const sockets = await accepted(server, 200);
    const queue = new CloseQueue();
    for (const s of sockets) queue.destroy(s);
    assert.equal(sockets.filter((s) => s.destroyed).length, 0, 'destroyed synchronously');
    await turn();
    const first = sockets.filter((s) => s.destroyed).length;
    assert.ok(first > 0 && first < 200, `${first} of 200 destroyed in the first turn`);
    for (let i = 0; i < 10 && queue.pending > 0; i++) await turn();
    assert.equal(queue.pending, 0);
    assert.equal(sockets.filter((s) => s.destroyed).length, 200);
  });
});

describe('SilentReaper', () => {
  let server: Server;
  before(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => server.close());

  /** One connection; its client sends `first` (if any) and the server side has read it. */
  async function one(first: string): Promise<Socket> {
    const [socket] = await Promise.all([
      new Promise<Socket>((resolve) => server.once('connection', resolve)),
      new Promise<void>((resolve) => {
        const c = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port }, () => {
          if (first !== '') c.write(first);
          resolve();
        });
        c.on('error', () => undefined);
      }),
    ]);
    if (first !== '') await new Promise((resolve) => socket.once('data', resolve));
    return socket;
  }

  it('closes a connection that sent nothing at its timeout (not before), leaves one that spoke to node, and forgets one that closed', async () => {
    const silent = await one('');
    const spoke = await one('GET / HTTP/1.1\r\n');
    const reaper = new SilentReaper(300, new CloseQueue(), 10);
    const early = await one('');
    reaper.watch(silent);
    reaper.watch(spoke);
    reaper.watch(early);
    assert.equal(reaper.watched, 3);
    early.destroy();
    await new Promise((resolve) => early.once('close', resolve));
    assert.equal(reaper.watched, 2, 'a socket closed before its timeout is still held');
    await sleep(200);
    assert.equal(silent.destroyed, false, 'closed before its timeout');
    await sleep(250);
    assert.equal(silent.destroyed, true, 'still open 150 ms past its timeout');
    assert.equal(spoke.destroyed, false, 'a connection that sent bytes was closed');
    assert.equal(reaper.watched, 0);
    spoke.destroy();
    reaper.stop();
  });
});
