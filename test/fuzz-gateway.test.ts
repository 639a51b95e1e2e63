/**
 * Property-based fuzzing of the gateway over raw TCP: arbitrary
 * request lines, methods, targets (dot segments, encodings, absolute-form), header sets
 * (duplicates, huge, odd characters, Upgrade) and bodies with and without Content-Length or
 * chunking, written on fresh connections to a real gateway listener in front of a real
 * node:http backend. Properties:
 * - every answer starts with a well-formed status line `HTTP/1.x NNN`, or the connection closes
 *   without one only when the request was never complete (the test cut it short);
 * - no 5xx, except a 502 for a request the backend itself refused at the HTTP level (its own
 *   parser's clientError, e.g. a head the gateway passed but the backend found too large),
 *   allowed only when the backend counted a refusal meanwhile. A connection-cap 503 is the other
 *   legitimate gateway 5xx, but 8 concurrent connections never reach the 256-per-client cap,
 *   so here any 503 fails;
 * - the backend never sees a path outside the service's base path (`/base/svc`), even after
 *   the backend's own normalisation (WHATWG URL);
 * - the gateway never crashes: after each batch a normal request still gets its 200.
 *
 * Seeded: a failure prints the seed and the counterexample; rerun with FUZZ_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startGateway, type Gateway } from '../src/gateway/gateway.js';
import { route, silent, table } from './fixtures/gateway-harness.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_101);
const BATCHES = Number(process.env.FUZZ_GATEWAY_BATCHES ?? 10);
const PER_BATCH = Number(process.env.FUZZ_GATEWAY_RUNS ?? 1_000);
const CONCURRENCY = 8;

interface RawCase {
  readonly bytes: Buffer;
  /** The request head and body are complete, so an answer is due. */
  readonly complete: boolean;
}

interface Answer {
  readonly head: string;
  readonly closedWithout: boolean;
}

const METHODS = fc.oneof(
  { weight: 14, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS') },
  { weight: 1, arbitrary: fc.constantFrom('CONNECT', 'TRACE', 'PRI', 'get', 'G ET', 'M-SEARCH', 'PROPFIND', '') },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z!#$%&'*+.^_`|~-]{1,12}$/) },
);

const SEGMENT = fc.oneof(
  { weight: 20, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '..',
      '.',
      '%2e%2e',
      '%2E.',
      '.%2e',
      '%2f',
      '%2F..',
      '%5c..',
      '..\\..',
      '%00',
      '%',
      '%ZZ',
      '%C0%AE%C0%AE',
      ';..',
      '..;',
      '',
    ),
  },
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 8 }) },
);

const TARGET = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom('/svc', '/svc/', '/', '/other', '/svcx', ''), fc.array(SEGMENT, { maxLength: 6 }))
      .map(([p, s]) => (s.length === 0 ? p || '/' : `${p}/${s.join('/')}`)),
  },
  { weight: 1, arbitrary: fc.array(SEGMENT, { maxLength: 6 }).map((s) => `/svc/${s.join('/')}?q=../${s.join('/')}#frag`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '*',
      'http://a/svc/../../etc',
      'http://evil@a/svc/x',
      '//svc/x',
      'a:80',
      '/svc/' + 'x'.repeat(20_000),
      '/svc/\t',
      '/svc/ x',
    ),
  },
);

const VERSION = fc.oneof(
  { weight: 16, arbitrary: fc.constant('HTTP/1.1') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2', 'HTTP/3', 'http/1.1', 'HTTP/1.1 ', '', 'HTTP/11'),
  },
);

const HEADER_NAME = fc.oneof(
  {
    weight: 16,
    arbitrary: fc.constantFrom(
      'x-a',
      'accept',
      'cookie',
      'x-forwarded-for',
      'via',
      'connection',
      'upgrade',
      'te',
      'expect',
      'range',
      'x-tern-version',
      'forwarded',
      'content-encoding',
      'proxy-authorization',
    ),
  },
  { weight: 8, arbitrary: fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 10 }).filter((s) => !/[\r\n]/.test(s)) },
);
const HEADER_VALUE = fc.oneof(
  { weight: 20, arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,40}$/) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, '')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('x'.repeat(9_000), 'websocket', 'Upgrade', 'close', 'keep-alive', '100-continue', '\u0000', ' \t '),
  },
);

const HOSTS = fc.oneof(
  { weight: 16, arbitrary: fc.constant(['Host: gw']) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      [],
      ['Host:'],
      ['Host: a', 'Host: b'],
      ['Host: evil@127.0.0.1/x'],
      ['Host: [::1]:80'],
      ['Host: a:99999'],
      ['host: a', 'HOST: a'],
      ['Host : a'],
    ),
  },
);

const BODY = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ headers: [] as string[], bytes: '', complete: true }) },
  {
    weight: 3,
    arbitrary: fc
      .string({ maxLength: 200 })
      .map((b) => ({ headers: [`Content-Length: ${Buffer.byteLength(b)}`], bytes: b, complete: true })),
  },
  {
    weight: 2,
    arbitrary: fc.array(fc.string({ minLength: 1, maxLength: 50 }), { maxLength: 4 }).map((chunks) => ({
      headers: ['Transfer-Encoding: chunked'],
      bytes: chunks.map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join('') + '0\r\n\r\n',
      complete: true,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      { headers: ['Content-Length: 5', 'Transfer-Encoding: chunked'], bytes: '0\r\n\r\n', complete: true },
      { headers: ['Content-Length: 5', 'Content-Length: 6'], bytes: 'abcdef', complete: true },
      { headers: ['Content-Length: -1'], bytes: '', complete: true },
      { headers: ['Content-Length: 1e3'], bytes: '', complete: true },
      { headers: ['Transfer-Encoding: chunked'], bytes: 'zz\r\nabc\r\n0\r\n\r\n', complete: true },
      { headers: ['Transfer-Encoding: gzip, chunked'], bytes: '0\r\n\r\n', complete: true },
      { headers: ['Transfer-Encoding: chunked, gzip'], bytes: '0\r\n\r\n', complete: true },
      { headers: ['Transfer-Encoding: chunked'], bytes: '5\r\nab', complete: false },
      { headers: ['Content-Length: 100'], bytes: 'short', complete: false },
      { headers: ['Content-Length: 3'], bytes: 'abcGET /svc/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n', complete: true },
    ),
  },
);

const CASE: fc.Arbitrary<RawCase> = fc
  .record({
    method: METHODS,
    target: TARGET,
    version: VERSION,
    hosts: HOSTS,
    extra: fc.array(fc.tuple(HEADER_NAME, HEADER_VALUE), { maxLength: 5 }),
    many: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(99, 101, 2_100) }),
    body: BODY,
    lineEnd: fc.oneof({ weight: 12, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '\r\r\n') }),
    garbage: fc.oneof({ weight: 30, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) }),
  })
  .map(({ method, target, version, hosts, extra, many, body, lineEnd, garbage }): RawCase => {
    if (garbage !== null) return { bytes: Buffer.from(garbage), complete: false };
    const lines = [
      `${method} ${target}${version === '' ? '' : ` ${version}`}`,
      ...hosts,
      ...extra.map(([n, v]) => `${n}: ${v}`),
      ...Array.from({ length: many }, (_, i) => `x-many-${i}: ${i}`),
      ...body.headers,
      'Connection: close',
    ];
    const head = lines.join(lineEnd) + lineEnd + lineEnd;
    return {
      bytes: Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body.bytes, 'utf8')]),
      complete: body.complete && lineEnd === '\r\n',
    };
  });

/** Writes `bytes` on a fresh connection; resolves with the first line of the answer, if any. */
function exchange(port: number, c: RawCase): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(c.bytes);
      // An incomplete request gets no answer until a timeout: cut it short (node then answers or closes).
      if (!c.complete) setTimeout(() => socket.end(), 30).unref();
    });
    let text = '';
    let done = false;
    const finishWith = (head: string): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ head, closedWithout: text.length === 0 });
    };
    const finish = (closedWithout: boolean): void => finishWith(closedWithout ? '' : (text.split('\r\n')[0] ?? ''));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      // Skip interim 1xx answers (Expect: 100-continue): the final status is the one that counts.
      const final = [...text.matchAll(/HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/g)].find((m) => !m[1]!.startsWith('1'));
      if (final) return finishWith(final[0].trimEnd());
      if (!text.startsWith('HTTP/'.slice(0, text.length)) || text.length > 65_536) finish(false);
    });
    socket.on('close', () => finish(text.length === 0));
    socket.on('error', () => finish(text.length === 0));
    socket.setTimeout(c.complete ? 5_000 : 2_000, () => finish(text.length === 0));
  });
}

describe('gateway fuzz: raw HTTP at a real listener', () => {
  let backend: Server;
  let gw: Gateway;
  const seen: string[] = [];
  let backendRefusals = 0;
  let sent = 0;
  const statuses = new Map<string, number>();

  before(async () => {
    backend = createServer((req, res) => {
      seen.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    backend.on('clientError', (_err, socket) => {
      backendRefusals++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const port = (backend.address() as AddressInfo).port;
    gw = await startGateway({
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: table(1, route({ service: 'svc', pathPrefix: '/svc', stable: [`http://127.0.0.1:${port}/base`] })),
    });
  });
  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  });

  async function stillAnswers(): Promise<void> {
    const a = await exchange(gw.port, {
      bytes: Buffer.from('GET /svc/alive HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n'),
      complete: true,
    });
    assert.match(a.head, /^HTTP\/1\.1 200 /, 'the gateway still answers a normal request');
  }

  it('regression: answers CONNECT with 405 instead of closing the connection without a word', async () => {
    // Found by this fuzzer: node emits CONNECT as a `connect` event and, with no listener,
    // destroyed the socket: the client got no status line at all.
    for (const target of ['/svc/x', 'example.com:443']) {
      const a = await exchange(gw.port, { bytes: Buffer.from(`CONNECT ${target} HTTP/1.1\r\nHost: gw\r\n\r\n`), complete: true });
      assert.match(a.head, /^HTTP\/1\.1 405 /, `CONNECT ${target}`);
    }
    assert.ok(!seen.some((url) => url.includes('example.com')), 'nothing was tunnelled to the backend');
    await stillAnswers();
  });

  it('answers every request with a well-formed status, no unexplained 5xx, nothing outside the base path, never crashing', async (t) => {
    let legit502 = 0;
    for (let batch = 0; batch < BATCHES; batch++) {
      const seed = SEED + batch;
      const cases = fc.sample(CASE, { seed, numRuns: PER_BATCH });
      const failures: string[] = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < cases.length) {
          const i = next++;
          const c = cases[i]!;
          const refusalsBefore = backendRefusals;
          const a = await exchange(gw.port, c);
          sent++;
          const status = /^HTTP\/1\.[01] (\d{3}) /.exec(a.head)?.[1];
          statuses.set(
            status ?? (a.closedWithout ? 'closed' : 'malformed'),
            (statuses.get(status ?? (a.closedWithout ? 'closed' : 'malformed')) ?? 0) + 1,
          );
          const label = `seed ${seed} (FUZZ_SEED=${SEED}, batch ${batch}) case ${i}: ${JSON.stringify(c.bytes.toString('latin1').slice(0, 600))} → ${JSON.stringify(a.head)}`;
          if (status === undefined) {
            if (!(a.closedWithout && !c.complete)) failures.push(`no well-formed status line: ${label}`);
            continue;
          }
          if (status.startsWith('5')) {
            if (status === '502' && backendRefusals > refusalsBefore) legit502++;
            else failures.push(`${status}: ${label}`);
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const outside = seen.filter((url) => !url.startsWith('/base/svc') || !new URL(url, 'http://b').pathname.startsWith('/base/svc'));
      assert.deepEqual(outside, [], `seed ${seed}: the backend saw paths outside /base/svc`);
      assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failures`);
      await stillAnswers();
    }
    t.diagnostic(
      `gateway fuzz: ${sent} raw requests in ${BATCHES} batches, seed ${SEED}; answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; backend saw ${seen.length}, refused ${backendRefusals}; legitimate 502s ${legit502}; gateway connections ${JSON.stringify(gw.connections())}`,
    );
    assert.ok(sent >= BATCHES * PER_BATCH);
  });
});
