/**
 * Hostile request targets, headers and upgrades at the gateway:
 * dot segments are removed before matching and forwarding, encoded traversal and NUL are
 * refused, RFC 9112 Host and version rules hold, header count is capped, and an upgrade
 * the upstream does not accept with 101 never becomes a raw tunnel.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { startGateway, type Gateway } from '../src/gateway/gateway.js';
import { route, silent, startBackend, table, type Backend } from './fixtures/gateway-harness.js';

/**
 * Writes `raw` on a fresh connection (kept open for writing: node cuts a half-closed client)
 * and resolves with everything the gateway sends back until it closes the connection.
 */
function exchange(url: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(raw));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (text += c));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.setTimeout(3_000, () => socket.destroy(new Error(`no close after: ${text}`)));
  });
}

describe('hostile request targets and headers', () => {
  let tenant1: Backend;
  let tenant2: Backend;
  let gw: Gateway;

  before(async () => {
    tenant1 = await startBackend('t1');
    tenant2 = await startBackend('t2');
    gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: table(
        1,
        route({ service: 'tenant', pathPrefix: '/tenant', stable: [`${tenant1.url}/tenant1`] }),
        route({ service: 'other', pathPrefix: '/other', stable: [`${tenant2.url}/tenant2`] }),
      ),
    });
  });
  after(async () => {
    await gw.close();
    await tenant1.close();
    await tenant2.close();
  });

  const get = (target: string, extra = ''): Promise<string> =>
    exchange(gw.url, `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n${extra}\r\n`);

  it('removes dot segments before matching: a traversal out of /tenant matches no route and reaches no backend', async () => {
    const answer = await get('/tenant/../../tenant2/secret');
    assert.match(answer, /^HTTP\/1\.1 404 /);
    assert.deepEqual(
      [...tenant1.seen, ...tenant2.seen].map((r) => r.url),
      [],
    );
  });

  it('forwards the normalised path, so the backend resolves what the gateway matched', async () => {
    const answer = await get('/tenant/a/./b/../c?q=../x');
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.equal(tenant1.seen.at(-1)?.url, '/tenant1/tenant/a/c?q=../x');
    await get('/other/../tenant/z');
    assert.equal(tenant1.seen.at(-1)?.url, '/tenant1/tenant/z', 'matched by the normalised path, not the raw prefix');
  });

  for (const target of [
    '/tenant/%2e%2e/%2e%2e/tenant2/secret',
    '/tenant/%2E%2E/%2E%2E/tenant2/secret',
    '/tenant/.%2e/%2E./tenant2/secret',
    '/tenant/..%2f..%2ftenant2/secret',
    '/tenant/..%5C..%5Ctenant2/secret',
    '/tenant/..;/..;/tenant2/secret',
    '/tenant/secret%00.txt',
  ]) {
    it(`refuses ${target} with 400 before matching`, async () => {
      const before = tenant1.seen.length + tenant2.seen.length;
      const answer = await get(target);
      assert.match(answer, /^HTTP\/1\.1 400 /);
      assert.equal(tenant1.seen.length + tenant2.seen.length, before);
    });
  }

  it('keeps an encoded slash that is no traversal (a GitLab-style id)', async () => {
    assert.match(await get('/tenant/projects/group%2Fname'), /^HTTP\/1\.1 200 /);
    assert.equal(tenant1.seen.at(-1)?.url, '/tenant1/tenant/projects/group%2Fname');
  });

  const refused: Array<[string, string, RegExp]> = [
    ['two Host headers', 'GET /tenant/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', / 400 /],
    ['an empty Host', 'GET /tenant/x HTTP/1.1\r\nHost:\r\n\r\n', / 400 /],
    ['Host: evil@127.0.0.1/x', 'GET /tenant/x HTTP/1.1\r\nHost: evil@127.0.0.1/x\r\n\r\n', / 400 /],
    ['an HTTP/0.9 request line', 'GET /tenant/x\r\n\r\n', /400/],
    ['an "HTTP/2.0" request line', 'GET /tenant/x HTTP/2.0\r\nHost: a\r\n\r\n', / 400 /],
    ['an absolute-form target with a bad authority', 'GET http://evil@a/tenant/x HTTP/1.1\r\nHost: a\r\n\r\n', / 400 /],
    ['150 header fields (cap 100)', `GET /tenant/x HTTP/1.1\r\nHost: a\r\n${'x-h: 1\r\n'.repeat(149)}\r\n`, / 431 /],
  ];
  for (const [what, raw, status] of refused) {
    it(`refuses ${what} and forwards nothing`, async () => {
      const before = tenant1.seen.length;
      const answer = await exchange(gw.url, raw);
      assert.match(answer.split('\r\n')[0] ?? '', status);
      assert.equal(tenant1.seen.length, before);
    });
  }

  it('forwards 99 header fields with its own X-Forwarded-For and Via intact', async () => {
    const answer = await exchange(
      gw.url,
      `GET /tenant/echo-headers HTTP/1.1\r\nHost: a\r\nConnection: close\r\n${'x-h: 1\r\n'.repeat(97)}\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 200 /);
    const seen = tenant1.seen.at(-1)!;
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.match(String(seen.headers.via), /tern/);
  });

  it('routes absolute-form by its authority with the path normalised', async () => {
    const answer = await exchange(gw.url, 'GET http://a/tenant/q/../r HTTP/1.1\r\nHost: ignored\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.equal(tenant1.seen.at(-1)?.url, '/tenant1/tenant/r');
    assert.equal(tenant1.seen.at(-1)?.headers['x-forwarded-host'], 'a');
  });

  it('normalises upgrade targets too', async () => {
    const answer = await exchange(
      gw.url,
      'GET /tenant/%2e%2e/other HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    assert.match(answer, /^HTTP\/1\.1 400 /);
  });
});

describe('upgrade without a 101', () => {
  let plain: Server;
  const seen: string[] = [];
  let gw: Gateway;

  before(async () => {
    // An ordinary HTTP backend: it has no upgrade handler, answers 200 and keeps the connection.
    plain = createServer((req, res) => {
      seen.push(`${req.method ?? ''} ${req.url ?? ''} xff=${String(req.headers['x-forwarded-for'])}`);
      req.resume();
      res.end('plain answer');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
    gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: table(1, route({ pathPrefix: '/ws', stable: [url] })),
    });
  });
  after(async () => {
    await gw.close();
    plain.closeAllConnections();
    await new Promise((r) => plain.close(r));
  });

  it('relays a 200 as a plain answer and closes: a second request on that socket never reaches the backend', async () => {
    const upgrade =
      'GET /ws/chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    const smuggled = 'GET /admin/secret HTTP/1.1\r\nHost: internal\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n';
    const { hostname, port } = new URL(gw.url);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), hostname, () => socket.write(upgrade));
      let text = '';
      let sent = false;
      socket.setEncoding('latin1');
      socket.on('data', (c: string) => {
        text += c;
        if (!sent && text.includes('plain answer')) {
          sent = true;
          socket.write(smuggled, () => undefined);
        }
      });
      socket.on('error', () => resolve(text)); // a reset after the answer is fine
      socket.on('close', () => resolve(text));
      // Left open: the assertions below fail on what arrived (today's tunnel never closes).
      socket.setTimeout(3_000, () => socket.destroy());
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /connection: close/i);
    assert.match(answer, /plain answer/);
    assert.deepEqual(seen, ['GET /ws/chat xff=127.0.0.1'], 'only the upgrade request reached the backend');
  });
});
