/**
 * The smaller API findings of the security review, each as a user (or an attacker) would meet it: a very deep
 * JSON body, a bad percent-encoding, answers a cache could keep, too many header fields, slow
 * and idle connections.
 */
import assert from 'node:assert/strict';
import { type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ErrorJson, type Harness, codeOf, serviceWithRelease, startHarness } from './api-harness.js';

describe('API hardening', () => {
  let h: Harness;
  let rel: string;

  before(async () => {
    h = await startHarness();
    rel = await serviceWithRelease(h, 'checkout');
  });
  after(() => h.close());

  it('answers a 5,000-deep JSON body with 400 naming the depth limit, not 500', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    for (const raw of [`{"version":"v3","analysis":{"judge":${deep}}}`, deep]) {
      const res = await h.call('POST', '/api/v1/services/checkout/releases', { raw });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(codeOf(res), 'TERN_INVALID_JSON');
      assert.match(res.json<ErrorJson>().error.message, /deeper than 64 levels/);
    }
  });

  it('answers a bad percent-encoding in Tern error shape, no-store, and audits it', async () => {
    const [before] = await h.store.listAudit({ limit: 1 });
    const res = await h.call('POST', '/api/v1/releases/x%ZZ/rollback', { body: {} });
    assert.equal(res.statusCode, 400);
    assert.equal(codeOf(res), 'TERN_INVALID_REQUEST', res.body);
    assert.match(res.json<ErrorJson>().error.message, /percent-encoded/);
    assert.equal(res.headers['cache-control'], 'no-store');
    const added = (await h.store.listAudit({ limit: 5 })).filter((e) => e.id > (before?.id ?? 0));
    assert.equal(added.length, 1, JSON.stringify(added));
    assert.deepEqual(
      [added[0]?.action, added[0]?.outcome, added[0]?.actor, added[0]?.target],
      ['route.unknown', 'rejected', 'token:bootstrap-admin', 'path//api/v1/releases/x%ZZ/rollback'],
    );
  });

  it('marks every /api/v1 answer Cache-Control: no-store, token secrets included', async () => {
    const created = await h.call('POST', '/api/v1/tokens', { body: { name: 'cache-test', role: 'viewer' } });
    assert.equal(created.statusCode, 201);
    const answers = [
      created,
      await h.call('GET', '/api/v1/services'),
      await h.call('GET', `/api/v1/releases/${rel}`),
      await h.call('GET', '/api/v1/services', { token: null }),
      await h.call('GET', '/api/v1/no-such-route'),
      await h.call('POST', '/api/v1/services', { raw: '{' }),
    ];
    assert.deepEqual(
      answers.map((r) => r.headers['cache-control']),
      answers.map(() => 'no-store'),
    );
  });

  it('refuses a request with more than 100 header fields with 400', async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 150; i++) headers[`x-filler-${i}`] = 'a';
    const res = await h.call('GET', '/api/v1/services', { headers });
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.json<ErrorJson>().error.message, /too many header fields/);
    assert.equal((await h.call('GET', '/api/v1/services', { headers: { 'x-one': 'a' } })).statusCode, 200);
    const post = await h.call('POST', '/api/v1/services', { headers, body: {} });
    assert.equal(post.statusCode, 400);
    const [event] = await h.store.listAudit({ limit: 1 });
    assert.deepEqual([event?.action, event?.outcome], ['service.create', 'rejected'], 'a refused change is audited');
  });
});

describe('API listener limits', () => {
  it('closes slow-header, slow-body and idle kept-alive connections within their timeouts', async () => {
    const h = await startHarness({
      listenerLimits: { headersTimeoutMs: 1000, requestTimeoutMs: 1500, keepAliveTimeoutMs: 500, maxRequestsPerSocket: 3 },
    });
    const sockets: Socket[] = [];
    let drip: NodeJS.Timeout | undefined;
    try {
      await h.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = h.app.server.address() as AddressInfo;
      const open = async (): Promise<{ socket: Socket; closed: Promise<number>; data: () => string }> => {
        const socket = connect(port, '127.0.0.1');
        sockets.push(socket);
        await new Promise((resolve) => socket.once('connect', resolve));
        const started = performance.now();
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
        socket.on('error', () => undefined);
        const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - started)));
        return { socket, closed, data: () => text };
      };
      // Slow headers: one header line every 300 ms, never finishing.
      const slow = await open();
      slow.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n');
      drip = setInterval(() => slow.socket.write('x-drip: 1\r\n'), 300);
      void slow.closed.then(() => clearInterval(drip));
      // Slow body: headers complete, body never completes.
      const body = await open();
      body.socket.write('POST /api/v1/services HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{');
      // Idle keep-alive after one answered request.
      const idle = await open();
      idle.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
      const [slowMs, bodyMs, idleMs] = await Promise.race([
        Promise.all([slow.closed, body.closed, idle.closed]),
        sleep(8000).then(() => [Infinity, Infinity, Infinity]),
      ]);
      assert.ok(slowMs < 3500, `slow headers held the connection ${slowMs} ms`);
      assert.ok(bodyMs < 4000, `a slow body held the connection ${bodyMs} ms`);
      assert.ok(idleMs < 2500, `an idle kept-alive connection stayed ${idleMs} ms`);
      assert.match(idle.data(), /^HTTP\/1.1 200/);
      assert.match(slow.data() + body.data(), /408/, 'timeouts are answered 408');

      // Requests per socket are capped: the 3rd answer says connection: close.
      const many = await open();
      many.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n'.repeat(3));
      await Promise.race([many.closed, sleep(3000)]);
      assert.equal((many.data().match(/HTTP\/1.1 200/g) ?? []).length, 3);
      assert.match(many.data(), /connection: close/i);
    } finally {
      clearInterval(drip);
      for (const socket of sockets) socket.destroy();
      await h.close();
    }
  });

  it('rejects nonsense listener limits', async () => {
    await assert.rejects(startHarness({ listenerLimits: { headersTimeoutMs: 0 } }), RangeError);
    await assert.rejects(startHarness({ listenerLimits: { headersTimeoutMs: 5000, requestTimeoutMs: 1000 } }), RangeError);
  });
});
