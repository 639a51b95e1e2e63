/**
 * Malformed requests on raw sockets get 400 from the gateway and never reach the upstream
 * (request smuggling defence, RFC 9112 §6.3 and §11.2).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startGateway, type Gateway } from '../src/gateway/gateway.js';
import { client, route, silent, startBackend, table, type Backend } from './fixtures/gateway-harness.js';

/** Writes `raw` on a fresh connection and resolves with everything the gateway sends back. */
function exchange(url: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(raw));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (text += c));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.setTimeout(3_000, () => socket.destroy(new Error('no answer')));
  });
}

describe('malformed requests', () => {
  let backend: Backend;
  let gw: Gateway;
  const http = client();

  before(async () => {
    backend = await startBackend('v1');
    gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: table(1, route({ stable: [backend.url] })),
    });
  });
  after(async () => {
    await gw.close();
    await http.agent.close();
    await backend.close();
  });

  const cases: Array<[string, string]> = [
    ['a bad request line', 'GET /x HTTP/1.1 junk\r\nHost: a\r\n\r\n'],
    ['a request line that is not HTTP', 'HELLO\r\n\r\n'],
    [
      'Content-Length together with Transfer-Encoding',
      'POST /smuggle HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    ],
    ['two different Content-Length values', 'POST /smuggle HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc'],
    ['an invalid chunk size', 'POST /smuggle HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'],
    ['oversized headers', `GET /big HTTP/1.1\r\nHost: a\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`],
    ['a space before the header colon', 'GET /space HTTP/1.1\r\nHost : a\r\n\r\n'],
  ];

  for (const [what, raw] of cases) {
    it(`answers 400 to ${what} and forwards nothing`, async () => {
      const before = backend.seen.length;
      const answer = await exchange(gw.url, raw);
      assert.match(answer, /^HTTP\/1\.1 400 /);
      assert.doesNotMatch(answer, /v1/, 'no upstream answer may follow');
      assert.equal(backend.seen.length, before);
      assert.equal(backend.seen.filter((r) => r.url.includes('smuggle')).length, 0);
    });
  }

  it('keeps serving well-formed requests afterwards on the same upstream pool', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => http.get(`${gw.url}/ok/${i}`)));
    assert.deepEqual(new Set(results.map((r) => r.text)), new Set(['v1']));
    assert.ok(backend.seen.every((r) => r.url.startsWith('/ok/')));
  });
});
