/**
 * The long-lived and operational surface: the SSE change stream (on a real socket), the
 * routing long-poll, the OpenAPI document, /metrics, health and readiness, the 500 mapping
 * and log redaction.
 */
import assert from 'node:assert/strict';
import { type IncomingMessage, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { buildApp } from '../src/api/app.js';
import { routeCatalog } from '../src/api/route-catalog.js';
import type { Store } from '../src/store/store.js';
import { type Harness, type RoutingJson, codeOf, serviceBody, startHarness } from './api-harness.js';

interface OpenApiDoc {
  readonly openapi: string;
  readonly paths: Record<
    string,
    Record<string, { security?: unknown[]; requestBody?: { content: Record<string, { schema: { additionalProperties?: unknown } }> } }>
  >;
}

/** Counts live store subscriptions, to prove streams and long-polls clean up after themselves. */
function countSubscriptions(store: Store): { store: Store; live: () => number } {
  let live = 0;
  const wrapped = Object.create(store) as Store;
  wrapped.subscribe = (listener) => {
    live += 1;
    const off = store.subscribe(listener);
    let done = false;
    return () => {
      if (!done) live -= 1;
      done = true;
      off();
    };
  };
  return { store: wrapped, live: () => live };
}

async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An open SSE connection that collects events. */
interface Stream {
  readonly res: IncomingMessage;
  readonly events: {
    id: number;
    data: { kind: string; action: string; id: string; service: string | null; routingVersion: number | null };
  }[];
  text: string;
  close(): void;
}

function openStream(url: string, headers: Record<string, string>): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers }, (res) => {
      const stream: Stream = { res, events: [], text: '', close: () => req.destroy() };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        stream.text += chunk;
        for (const block of stream.text.split('\n\n').slice(0, -1)) {
          const id = /^id: (\d+)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (id && data && !stream.events.some((e) => e.id === Number(id)))
            stream.events.push({ id: Number(id), data: JSON.parse(data) as Stream['events'][number]['data'] });
        }
      });
      resolve(stream);
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
  });
}

describe('live: SSE and routing long-poll', () => {
  let h: Harness;
  let subs: ReturnType<typeof countSubscriptions>;
  let base: string;
  before(async () => {
    h = await startHarness({
      wrapStore: (s) => {
        subs = countSubscriptions(s);
        return subs.store;
      },
    });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });
  after(() => h.close());

  it('streams committed changes, replays missed ones after Last-Event-ID, and unsubscribes on disconnect', async () => {
    const auth = { authorization: `Bearer ${h.tokens.viewer}` };
    const stream = await openStream(`${base}/api/v1/events`, auth);
    assert.equal(stream.res.statusCode, 200);
    assert.match(String(stream.res.headers['content-type']), /^text\/event-stream/);
    await until(() => stream.text.includes(': connected'), 'the stream to open');
    assert.equal(subs.live(), 1);

    assert.equal((await h.call('POST', '/api/v1/services', { body: serviceBody('live') })).statusCode, 201);
    await until(() => stream.events.length === 1, 'the change event');
    const first = stream.events[0]!;
    assert.deepEqual(
      [first.data.kind, first.data.action, first.data.id, first.data.service],
      ['service', 'service.create', 'live', 'live'],
    );
    assert.equal(typeof first.data.routingVersion, 'number');
    stream.close();
    await until(() => subs.live() === 0, 'the subscription to end');

    await h.call('PATCH', '/api/v1/services/live', { body: { rules: [] } });
    await h.call('POST', '/api/v1/services/live/releases', {
      token: h.tokens.deployer,
      body: { version: 'v2', endpoints: ['http://127.0.0.1:9002'] },
    });
    const resumed = await openStream(`${base}/api/v1/events`, { ...auth, 'last-event-id': String(first.id) });
    await until(() => resumed.events.length === 2, 'the replay');
    assert.deepEqual(
      resumed.events.map((e) => e.data.action),
      ['service.update', 'release.start'],
    );
    assert.ok(resumed.events.every((e) => e.id > first.id));
    resumed.close();
    await until(() => subs.live() === 0, 'the second subscription to end');
  });

  it('answers the routing table at once when newer, on change while waiting, and 304 after the wait', async () => {
    const gw = { token: h.tokens.gateway };
    const now = await h.call('GET', '/api/v1/dataplane/routing', gw);
    assert.equal(now.statusCode, 200);
    const table = now.json<RoutingJson>();
    assert.equal(table.weightScale, 10_000);
    assert.equal(
      (await h.call('GET', `/api/v1/dataplane/routing?after=${table.version - 1}`, gw)).json<RoutingJson>().version,
      table.version,
    );

    const quiet = await h.call('GET', `/api/v1/dataplane/routing?after=${table.version}&wait=150ms`, gw);
    assert.equal(quiet.statusCode, 304);
    assert.equal(quiet.body, '');

    const waiting = h.call('GET', `/api/v1/dataplane/routing?after=${table.version}&wait=10s`, gw);
    await until(() => subs.live() === 1, 'the long-poll to subscribe');
    const started = Date.now();
    await h.call('POST', '/api/v1/services', { body: serviceBody('poll') });
    const changed = await waiting;
    assert.equal(changed.statusCode, 200);
    assert.ok(changed.json<RoutingJson>().version > table.version);
    assert.ok(Date.now() - started < 5000, 'answered on the change, not at the timeout');
    await until(() => subs.live() === 0, 'the long-poll to unsubscribe');

    const tooLong = await h.call('GET', `/api/v1/dataplane/routing?after=0&wait=61s`, gw);
    assert.deepEqual([tooLong.statusCode, codeOf(tooLong)], [400, 'TERN_INVALID_DURATION']);
  });
});

describe('operational surface', () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.close());

  it('documents every registered route in the OpenAPI document, with the validating schemas', async () => {
    const res = await h.call('GET', '/api/v1/openapi.json', { token: null });
    assert.equal(res.statusCode, 200);
    const doc = res.json<OpenApiDoc>();
    assert.equal(doc.openapi, '3.1.0');
    for (const e of routeCatalog(h.app).entries) {
      // `/*` (the dashboard's client-route fallback) is documented by @fastify/swagger as `/{*}`.
      const path = e.url.replace(/:([A-Za-z]+)/g, '{$1}').replace(/\*$/, '{*}');
      const op = doc.paths[path]?.[e.method.toLowerCase()];
      assert.ok(op, `${e.method} ${e.url} missing from the OpenAPI document`);
      assert.deepEqual(op.security, e.access === 'public' ? [] : [{ bearerAuth: [] }], `${e.method} ${e.url} security`);
    }
    const create = doc.paths['/api/v1/services']?.post?.requestBody?.content['application/json']?.schema;
    assert.equal(create?.additionalProperties, false);
  });

  it('documents the analysis settings a release takes and answers with', async () => {
    interface Node {
      readonly properties?: Record<string, Node>;
      readonly anyOf?: readonly Node[];
      readonly description?: string;
    }
    const doc = (await h.call('GET', '/api/v1/openapi.json', { token: null })).json<{
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody: { content: Record<string, { schema: Node }> };
            responses: Record<string, { content: Record<string, { schema: Node }> }>;
          }
        >
      >;
    }>();
    const start = doc.paths['/api/v1/services/{name}/releases']?.post;
    const asked = start?.requestBody.content['application/json']?.schema.properties?.analysis?.properties;
    const answered = start?.responses['201']?.content['application/json']?.schema.properties?.analysis?.properties;
    const keys = (n: Node | undefined) => Object.keys(n?.properties ?? n?.anyOf?.find((x) => x.properties)?.properties ?? {}).sort();
    assert.deepEqual(keys(asked?.errorRate), ['max', 'minDifference', 'tolerance']);
    assert.deepEqual(keys(asked?.latency), ['minDifferenceMs', 'p99MaxMs', 'tolerance']);
    assert.deepEqual(keys(asked?.feedback), ['minScore', 'tolerance']);
    assert.ok(asked?.warmup, 'the request takes a warm-up');
    assert.match(asked?.latency?.properties?.minDifferenceMs?.description ?? '', /default 5/);
    assert.match(asked?.errorRate?.properties?.minDifference?.description ?? '', /default 0\.001/);
    assert.deepEqual(keys(answered?.errorRate), ['max', 'minDifference', 'tolerance']);
    assert.deepEqual(keys(answered?.latency), ['minDifferenceMs', 'p99MaxMs', 'tolerance']);
    assert.deepEqual(keys(answered?.feedback), ['minScore', 'tolerance']);
    for (const field of ['warmup', 'warmupMs', 'minRequests', 'threshold', 'interval', 'intervalMs'])
      assert.ok(answered?.[field], `answers ${field}`);
  });

  it('exposes an HTTP duration histogram by method, route pattern and status', async () => {
    await h.call('GET', '/api/v1/services/nope');
    const res = await h.call('GET', '/metrics', { token: h.tokens.viewer });
    assert.equal(res.statusCode, 200);
    assert.match(
      res.body,
      /tern_http_request_duration_seconds_bucket\{le="[^"]+",method="GET",route="\/api\/v1\/services\/:name",status_code="404"\} 1/,
    );
    assert.match(res.body, /process_cpu_user_seconds_total/);
  });

  it('serves /metrics to any role but not anonymously, unless the server makes it public', async () => {
    assert.equal((await h.call('GET', '/metrics', { token: null })).statusCode, 401);
    assert.equal((await h.call('GET', '/metrics', { token: 'tern_not-a-real-token' })).statusCode, 401);
    assert.equal((await h.call('GET', '/metrics', { token: h.tokens.gateway })).statusCode, 200, 'a gateway token scrapes');
    const open = await startHarness({ metricsPublic: true });
    try {
      assert.equal((await open.call('GET', '/metrics', { token: null })).statusCode, 200);
    } finally {
      await open.close();
    }
  });

  it('is live and ready while the store answers', async () => {
    assert.equal((await h.call('GET', '/healthz', { token: null })).statusCode, 200);
    assert.deepEqual((await h.call('GET', '/readyz', { token: null })).json(), { status: 'ready' });
  });
});

describe('shutdown', () => {
  it('ends open event streams and long-polls when the app closes', async () => {
    const h = await startHarness();
    try {
      await h.app.listen({ host: '127.0.0.1', port: 0 });
      const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
      const stream = await openStream(`${base}/api/v1/events`, { authorization: `Bearer ${h.tokens.viewer}` });
      const version = (await h.store.routingTable()).version;
      const poll = h.call('GET', `/api/v1/dataplane/routing?after=${version}&wait=60s`, { token: h.tokens.gateway });
      const ended = new Promise((resolve) => stream.res.once('end', resolve));
      await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      await h.app.close();
      await ended;
      assert.equal((await poll).statusCode, 304);
      assert.ok(Date.now() - started < 5000, 'close did not wait for the 60s poll');
    } finally {
      await h.close();
    }
  });
});

describe('failures', () => {
  it('answers 503 on /readyz and a generic 500 elsewhere when the store breaks, never a stack trace', async () => {
    let broken = false;
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
    const h = await startHarness({
      logger,
      wrapStore: (s) => {
        const w = Object.create(s) as Store;
        w.countTokens = () => (broken ? Promise.reject(new Error('disk on fire')) : s.countTokens());
        w.listServices = () => (broken ? Promise.reject(new Error('disk on fire at /var/lib/x')) : s.listServices());
        return w;
      },
    });
    try {
      broken = true;
      const ready = await h.call('GET', '/readyz', { token: null });
      assert.deepEqual([ready.statusCode, codeOf(ready)], [503, 'TERN_STORE_UNAVAILABLE']);
      const res = await h.call('GET', '/api/v1/services');
      assert.deepEqual([res.statusCode, codeOf(res)], [500, 'TERN_INTERNAL']);
      assert.ok(!res.body.includes('disk on fire') && !res.body.includes('.ts:'), res.body);
      assert.ok(
        lines.some((l) => l.includes('disk on fire')),
        'the cause is logged',
      );
      const secretLine = lines.find((l) => l.includes(h.tokens.viewer) || l.includes(h.tokens.admin));
      assert.equal(secretLine, undefined, 'no secret in the logs');
    } finally {
      await h.close();
    }
  });

  it('redacts authorization headers and secret fields in log lines', () => {
    const lines: string[] = [];
    const sink = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
    return buildApp({ store: {} as Store, logger: sink }).then(async (app) => {
      app.log.info(
        { req: { headers: { authorization: 'Bearer tern_abc', cookie: 'tern_uid=1' } }, secret: 'tern_def', body: { token: 'tern_ghi' } },
        'x',
      );
      await app.close();
      assert.equal(lines.length, 1);
      assert.ok(!/tern_(abc|def|ghi)|tern_uid=1/.test(lines[0]!), lines[0]);
    });
  });
});
