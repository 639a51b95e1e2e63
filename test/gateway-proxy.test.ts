/**
 * The proxy over real sockets: routing, header rewriting, the gateway's own error answers,
 * the connect retry, the optional version header and atomic table swaps.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { request } from 'undici';
import type { RoutingTable } from '../src/core/types.js';
import { startGateway, type Gateway } from '../src/gateway/gateway.js';
import { client, closedPort, route, silent, startBackend, table, type Backend } from './fixtures/gateway-harness.js';

/** node:http GET (undici refuses to send hop-by-hop fields, which is what we need to send). */
function rawGet(
  url: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('gateway proxy', () => {
  let a: Backend;
  let b: Backend;
  let c: Backend;
  let slow: Backend;
  let dead: string;
  let gw: Gateway;
  let initial: RoutingTable;
  const http = client();

  before(async () => {
    [a, b, c, slow] = await Promise.all([startBackend('A'), startBackend('B'), startBackend('C'), startBackend('slow')]);
    dead = `http://127.0.0.1:${await closedPort()}`;
    gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      exposeVersionHeader: true,
      pool: { headersTimeoutMs: 600 },
      outlier: { consecutiveFailures: 1_000 },
      initialTable: (initial = table(
        1,
        route({ service: 'host-a', host: 'a.example', stable: [a.url], stableVersion: 'a1' }),
        route({ service: 'api', pathPrefix: '/api', stable: [b.url], stableVersion: 'b1' }),
        route({ service: 'api-v2', host: 'a.example', pathPrefix: '/api/v2', stable: [c.url], stableVersion: 'c1' }),
        route({ service: 'timeout', pathPrefix: '/t', stable: [slow.url] }),
        route({ service: 'down', pathPrefix: '/down', stable: [dead] }),
        route({ service: 'empty', pathPrefix: '/empty', stable: [] }),
        route({ service: 'retry', pathPrefix: '/retry', stable: [dead, a.url] }),
      )),
    });
  });
  after(async () => {
    await gw.close();
    await http.agent.close();
    await Promise.all([a, b, c, slow].map((x) => x.close()));
  });

  it('matches host exactly and the longest path prefix on segment boundaries; 404 otherwise', async () => {
    assert.equal((await http.get(`${gw.url}/api/v2/items`, { host: 'a.example' })).text, 'C');
    assert.equal((await http.get(`${gw.url}/api/v2`, { host: 'A.EXAMPLE:8080' })).text, 'C');
    assert.equal((await http.get(`${gw.url}/other`, { host: 'a.example' })).text, 'A');
    assert.equal((await http.get(`${gw.url}/api/v2/x`, { host: 'b.example' })).text, 'B');
    assert.equal((await http.get(`${gw.url}/api?q=1`, { host: 'b.example' })).text, 'B');
    const miss = await http.get(`${gw.url}/apix`, { host: 'b.example' });
    assert.equal(miss.status, 404);
    assert.match(miss.text, /no service matches/);
    assert.ok(miss.text.length < 100);
  });

  it('strips hop-by-hop fields both ways, including those named in Connection, and sets x-forwarded-*', async () => {
    const res = await rawGet(`${gw.url}/api/echo-headers?x=1`, {
      host: 'shop.example:8443',
      connection: 'keep-alive, x-secret-hop',
      'x-secret-hop': 'drop me',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'proxy-authorization': 'Basic Zm9vOmJhcg==',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-end-to-end': 'keep me',
    });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.text) as { headers: Record<string, string>; url: string };
    for (const name of ['x-secret-hop', 'keep-alive', 'te', 'proxy-authorization']) assert.equal(seen.headers[name], undefined, name);
    assert.equal(seen.headers['x-end-to-end'], 'keep me');
    assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], 'shop.example:8443');
    assert.equal(seen.headers.host, new URL(b.url).host);
    assert.match(seen.headers.via ?? '', /1\.1 tern/);
    assert.equal(seen.url, '/api/echo-headers?x=1');
    assert.equal(res.headers['x-hop'], undefined, 'a field the upstream named in Connection must not reach the client');
    assert.equal(res.headers['x-tern-version'], 'b1');
  });

  it('answers Expect: 100-continue itself and streams the body on without the Expect field', async () => {
    const answer = await new Promise<{ status: number; text: string; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest(
        `${gw.url}/api/upload`,
        { method: 'POST', agent: false, headers: { expect: '100-continue', 'content-length': '5' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text, continued }));
        },
      );
      req.on('continue', () => {
        continued = true;
        req.end('hello');
      });
      req.on('error', reject);
    });
    assert.deepEqual(answer, { status: 200, text: '5', continued: true });
    assert.equal(b.seen.at(-1)?.headers.expect, undefined);
  });

  it('answers 504 when the upstream sends no headers in time', async () => {
    const res = await http.get(`${gw.url}/t/slow?ms=2000`);
    assert.equal(res.status, 504);
    assert.match(res.text, /timed out/);
  });

  it('cancels the upstream request when the client leaves before the answer', async () => {
    const controller = new AbortController();
    const seen = slow.seen.length;
    const gone = request(`${gw.url}/t/slow?ms=250`, { dispatcher: http.agent, signal: controller.signal });
    await until(() => slow.seen.length > seen);
    controller.abort();
    await assert.rejects(gone);
    await until(async () => /tern_gateway_client_aborts_total\{service="timeout",role="stable"\} 1/.test(await gw.metrics.prometheus()));
  });

  it('answers 502 when the only endpoint refuses connections', async () => {
    const res = await http.get(`${gw.url}/down/x`);
    assert.equal(res.status, 502);
    assert.match(res.text, /upstream unavailable/);
  });

  it('answers 502 to a garbage upstream answer and cuts a response the upstream breaks off', async () => {
    const raw = createNetServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        if (chunk.toString('latin1').includes('/garbage')) socket.end('NOT HTTP AT ALL\r\n\r\n');
        else socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten..', () => socket.destroy());
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
    const previous = gw.tableVersion();
    gw.applyTable(table(previous + 1, route({ service: 'raw', pathPrefix: '/', stable: [url] })));
    try {
      const garbage = await http.get(`${gw.url}/garbage`);
      assert.equal(garbage.status, 502);
      await assert.rejects(http.get(`${gw.url}/truncated`));
      assert.match(await gw.metrics.prometheus(), /tern_gateway_upstream_errors_total\{service="raw",role="stable",kind="reset"\} 1/);
    } finally {
      raw.close();
    }
    gw.applyTable({ ...initial, version: previous + 2 });
    assert.equal((await http.get(`${gw.url}/still-alive`, { host: 'a.example' })).text, 'A');
  });

  it('answers 503 when the version has no endpoint', async () => {
    const res = await http.get(`${gw.url}/empty`);
    assert.equal(res.status, 503);
    assert.match(res.text, /no healthy endpoint/);
  });

  it('retries a failed connect once on another endpoint for idempotent methods only', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await http.get(`${gw.url}/retry/${i}`)).text, 'A');
    const errors = await gw.metrics.prometheus();
    assert.match(errors, /tern_gateway_upstream_errors_total\{service="retry",role="stable",kind="connect"\} [1-9]/);
    gw.applyTable(table(2, route({ service: 'retry', pathPrefix: '/retry', stable: [dead, a.url] })));
    // A fresh table starts its round-robin at the dead endpoint: a POST must not be replayed.
    const post = await rawGet(`${gw.url}/retry/once`, {}, 'POST');
    assert.equal(post.status, 502);
  });

  it('swaps tables atomically: a request in flight finishes where it started', async () => {
    gw.applyTable(table(10, route({ service: 'swap', pathPrefix: '/', stable: [slow.url], stableVersion: 'old' })));
    const seen = slow.seen.length;
    const inFlight = http.get(`${gw.url}/slow?ms=150`);
    await until(() => slow.seen.length > seen);
    gw.applyTable(table(11, route({ service: 'swap', pathPrefix: '/', stable: [a.url], stableVersion: 'new' })));
    const after = await http.get(`${gw.url}/x`);
    assert.equal(after.text, 'A');
    assert.equal(after.headers['x-tern-version'], 'new');
    const before = await inFlight;
    assert.equal(before.status, 200);
    assert.equal(before.text, 'slow');
    assert.equal(before.headers['x-tern-version'], 'old');
    assert.equal(gw.tableVersion(), 11);
  });

  it('rejects an invalid table and keeps the old one', async () => {
    assert.throws(() => gw.applyTable(table(12, route({ pathPrefix: '/', stable: ['ftp://x'] }))), /must use http/);
    assert.throws(
      () => gw.applyTable(table(12, route({ pathPrefix: '/', stable: [a.url], rules: [{ header: 'x', regex: '(', target: 'canary' }] }))),
      /regular expression/,
    );
    assert.equal(gw.tableVersion(), 11);
    assert.equal((await http.get(`${gw.url}/x`)).text, 'A');
  });

  it('serves Prometheus metrics on the admin listener, not on the user port', async () => {
    assert.ok(gw.adminUrl);
    const res = await http.get(`${gw.adminUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.text, /tern_gateway_requests_total\{service="api",role="stable",class="2xx"\} \d+/);
    assert.match(res.text, /tern_gateway_request_duration_seconds_bucket/);
    assert.match(res.text, /tern_gateway_routing_table_version 11/);
    assert.match(res.text, new RegExp(`tern_gateway_endpoint_available\\{endpoint="${a.url}"\\} 1`));
    assert.equal((await http.get(`${gw.adminUrl}/readyz`)).status, 200);
    assert.equal((await http.get(`${gw.url}/metrics`)).text, 'A', 'the user route keeps /metrics');
  });
});
