/**
 * HaproxyRouter against a real HAProxy 2.6: the sticky bucket bit-for-bit with the
 * xxh32 formula, weights and rules changed at runtime without a reload (under load, with the
 * time from apply() to applied), a release's start and end and endpoint changes without a
 * reload (dynamic servers; a retired server finishes its requests), a structural change
 * through a graceful reload under load, and fail static across an agent restart and an HAProxy restart. Needs the `haproxy` binary:
 * in CI it is installed (.ci/run) and this test runs; elsewhere without it, it skips.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { Pool } from 'undici';
import type { MatchRule, RouteEntry, RoutingTable } from '../src/core/types.js';
import { HaproxyRouter } from '../src/providers/routers/haproxy/router.js';
import { runtimeCommand } from '../src/providers/routers/haproxy/runtime-api.js';
import { parseServersState } from '../src/providers/routers/haproxy/servers.js';
import { issueCert, makeCa } from './fixtures/certs.js';
import { startLoad } from './support/load.js';
import { xxh32Bucket } from './support/xxh32.js';

function haveHaproxy(): boolean {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const skip = !haveHaproxy() && process.env.CI !== 'true' ? 'haproxy is not installed' : false;

const SALT = 'Qm9vdHN0cmFwU2FsdDEyMw'; // 22 chars of base64url, like a release salt
const logger = pino({ level: 'silent' });

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

interface Upstream {
  readonly url: string;
  /** TCP connections it has accepted. */
  connections(): number;
  close(): Promise<void>;
}

/** An upstream that answers its version name (`/slow` after 2 s); over TLS with `tls`. */
async function upstream(version: string, tls?: { key: string; cert: string }): Promise<Upstream> {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    req.resume();
    if (req.url === '/slow') setTimeout(() => res.end(version), 2000);
    else res.end(version);
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  server.keepAliveTimeout = 30_000;
  // Over TLS by name (HAProxy checks a certificate's DNS names, not its IP addresses), on both loopbacks.
  await new Promise<void>((r) => server.listen(0, tls ? '::' : '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function table(
  version: number,
  weight: number,
  opts: { rules?: MatchRule[]; stable?: string[]; canary?: string[] | null; more?: RouteEntry[] },
): RoutingTable {
  const route: RouteEntry = {
    service: 'web',
    match: { pathPrefix: '/' },
    stickiness: { header: 'x-user', cookie: 'tern_uid' },
    rules: opts.rules ?? [],
    stable: { version: opts.canary === null ? 'v2' : 'v1', endpoints: opts.stable ?? [] },
    canary:
      opts.canary === null
        ? null
        : { version: 'v2', endpoints: opts.canary ?? [], weight, salt: SALT, releaseId: 'rel-1', bucketHash: 'xxh32' },
  };
  return { version, routes: [route, ...(opts.more ?? [])] };
}

/** The servers HAProxy runs in `backend`, by name. */
async function serversIn(socket: string, backend: string): Promise<string[]> {
  return [...parseServersState(await runtimeCommand(socket, `show servers state ${backend}`)).keys()];
}

/** Sends one request per user; resolves user → version answered. Non-ASCII keys go out as their UTF-8 bytes. */
async function versionsOf(
  pool: Pool,
  users: readonly string[],
  headers: (u: string) => Record<string, string>,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < users.length) {
      const u = users[next++]!;
      const res = await pool.request({ method: 'GET', path: '/', headers: headers(u) });
      out.set(u, await res.body.text());
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return out;
}

/** undici writes header strings as latin1: this string puts the UTF-8 bytes of `s` on the wire. */
const wire = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

describe('HaproxyRouter on a real HAProxy', { skip, timeout: 300_000 }, () => {
  let dir: string;
  let router: HaproxyRouter;
  let stable: Awaited<ReturnType<typeof upstream>>;
  let stable2: Awaited<ReturnType<typeof upstream>>;
  let canary: Awaited<ReturnType<typeof upstream>>;
  let url: string;
  let pool: Pool;
  let version = 1;
  let port: number;

  const open = (): Promise<HaproxyRouter> =>
    HaproxyRouter.open({ dir, listen: { host: '127.0.0.1', port }, logPort: null, sampleEvery: 1, logger });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tern-haproxy-'));
    [stable, stable2, canary] = await Promise.all([upstream('v1'), upstream('v1'), upstream('v2')]);
    port = await freePort();
    router = await open();
    url = `http://127.0.0.1:${port}`;
    pool = new Pool(url, { connections: 32 });
  });

  after(async () => {
    await pool?.close();
    await router?.stopProxy();
    await Promise.all([stable?.close(), stable2?.close(), canary?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const apply = async (weight: number, rules: MatchRule[] = [], stableUrls = [stable.url]): Promise<number> => {
    const t0 = performance.now();
    await router.apply(table(++version, weight, { rules, stable: stableUrls, canary: [canary.url] }));
    assert.equal(router.appliedVersion(), version);
    return performance.now() - t0;
  };

  it('answers 404 before the first table, then routes by it', async () => {
    const res = await pool.request({ method: 'GET', path: '/' });
    assert.equal(res.statusCode, 404);
    await res.body.dump();
    await apply(0);
    const ok = await pool.request({ method: 'GET', path: '/', headers: { 'x-user': 'a' } });
    assert.equal(await ok.body.text(), 'v1');
  });

  it('buckets 20,000 users bit-for-bit with xxh32(salt ‖ key) mod 10000 at 5/25/50%, canary sets only grow, without a reload', async () => {
    const users = Array.from({ length: 20_000 }, (_, i) => (i % 4 === 0 ? `zoë-ünïcødé-${i}-日本` : `user-${i}`));
    const worker = await router.process.workerPid();
    let previous = new Set<string>();
    for (const weight of [500, 2500, 5000]) {
      await apply(weight);
      const seen = await versionsOf(pool, users, (u) => ({ 'x-user': wire(u) }));
      let mismatches = 0;
      const onCanary = new Set<string>();
      for (const u of users) {
        const expected = xxh32Bucket(SALT, u) < weight ? 'v2' : 'v1';
        if (seen.get(u) !== expected) mismatches++;
        if (seen.get(u) === 'v2') onCanary.add(u);
      }
      assert.equal(mismatches, 0, `weight ${weight}: ${mismatches} users routed against the formula`);
      const share = onCanary.size / users.length;
      assert.ok(Math.abs(share - weight / 10_000) <= 0.01, `weight ${weight}: canary share ${share}`);
      for (const u of previous) assert.ok(onCanary.has(u), `raising the weight moved ${u} back to stable`);
      previous = onCanary;
    }
    assert.equal(await router.process.workerPid(), worker, 'a weight change must not reload HAProxy');
  });

  it('moves everyone at weight 0 → 100% → 0', async () => {
    const users = Array.from({ length: 300 }, (_, i) => `w-${i}`);
    for (const [weight, expected] of [
      [0, 'v1'],
      [10_000, 'v2'],
      [0, 'v1'],
    ] as const) {
      await apply(weight);
      const seen = await versionsOf(pool, users, (u) => ({ 'x-user': u }));
      assert.deepEqual(new Set(seen.values()), new Set([expected]), `weight ${weight}`);
    }
  });

  it('issues a cookie to a user without a key and keys that very request by it', async () => {
    await apply(5000);
    let canarySeen = 0;
    for (let i = 0; i < 40; i++) {
      const res = await pool.request({ method: 'GET', path: '/' });
      const body = await res.body.text();
      const cookie = String(res.headers['set-cookie']);
      const id = /^tern_uid=([^;]+);/.exec(cookie)?.[1];
      assert.ok(id, `expected a tern_uid cookie, got ${cookie}`);
      assert.match(cookie, /Max-Age=34560000; Path=\/; HttpOnly; SameSite=Lax/);
      assert.equal(body, xxh32Bucket(SALT, id) < 5000 ? 'v2' : 'v1');
      if (body === 'v2') canarySeen++;
      // Coming back with it: same version, no new cookie.
      const again = await pool.request({ method: 'GET', path: '/', headers: { cookie: `tern_uid=${id}` } });
      assert.equal(await again.body.text(), body);
      assert.equal(again.headers['set-cookie'], undefined);
    }
    assert.ok(canarySeen > 0 && canarySeen < 40);
  });

  it('applies header and cookie equals rules, and changes their values at runtime without a reload', async () => {
    const rules: MatchRule[] = [
      { header: 'x-beta', equals: 'yes', target: 'canary' },
      { header: 'x-beta', equals: 'never', target: 'stable' },
      { cookie: 'plan', equals: 'gold', target: 'canary' },
    ];
    await apply(0, rules);
    const worker = await router.process.workerPid();
    const get = async (headers: Record<string, string>): Promise<string> =>
      (await pool.request({ method: 'GET', path: '/', headers })).body.text();
    assert.equal(await get({ 'x-beta': 'yes', 'x-user': 'u1' }), 'v2');
    assert.equal(await get({ cookie: 'a=1; plan=gold', 'x-user': 'u1' }), 'v2');
    assert.equal(await get({ 'x-beta': 'no', 'x-user': 'u1' }), 'v1');
    // An earlier rule wins: x-beta=never (stable) before plan=gold (canary).
    assert.equal(await get({ 'x-beta': 'never', cookie: 'plan=gold' }), 'v1');
    await apply(10_000, [
      { header: 'x-beta', equals: 'no', target: 'canary' },
      { header: 'x-beta', equals: 'never', target: 'stable' },
      rules[2]!,
    ]);
    assert.equal(await get({ 'x-beta': 'yes', 'x-user': 'u1' }), 'v2', 'weight 100%: everyone not ruled is on the canary');
    assert.equal(await get({ 'x-beta': 'never', 'x-user': 'u1' }), 'v1', 'the stable rule still wins over 100%');
    assert.equal(await router.process.workerPid(), worker, 'rule value changes must not reload HAProxy');
    await assert.rejects(
      router.apply(
        table(version + 1, 0, { rules: [{ header: 'x-beta', regex: '^y', target: 'canary' }], stable: [stable.url], canary: [canary.url] }),
      ),
      {
        code: 'TERN_DATAPLANE_UNSUPPORTED',
      },
    );
    assert.equal(router.appliedVersion(), version, 'a refused table leaves the previous one in force');
    assert.equal(await get({ 'x-beta': 'never', 'x-user': 'u1' }), 'v1');
  });

  it('changes weights and rules under 500 rps for 10 s: 0 failed requests, apply p99 ≤ 200 ms, no reload', async () => {
    await apply(0, [{ header: 'x-beta', equals: 'v0', target: 'canary' }]); // the structure the loop keeps
    const worker = await router.process.workerPid();
    const load = startLoad(url, { rps: 500, users: 2000, header: 'x-user', maxSeconds: 15 });
    const latencies: number[] = [];
    const end = Date.now() + 10_000;
    for (let i = 0; Date.now() < end; i++) {
      const rules: MatchRule[] = [{ header: 'x-beta', equals: `v${i % 3}`, target: 'canary' }];
      latencies.push(await apply((i * 700) % 10_001, rules));
      await new Promise((r) => setTimeout(r, 100));
    }
    const stats = await load.stop();
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]!;
    console.log(
      `apply→applied over ${latencies.length} changes: p50 ${latencies[latencies.length >> 1]!.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (slowest ${latencies
        .slice(-4)
        .map((x) => x.toFixed(0))
        .join(', ')}); load sent ${stats.sent}, failed ${stats.failed}`,
    );
    assert.equal(stats.failed, 0, stats.failures.slice(0, 5).join('; '));
    assert.ok(stats.sent >= 4500, `load sent only ${stats.sent}`);
    assert.ok(p99 <= 200, `apply p99 ${p99.toFixed(1)} ms`);
    assert.equal(await router.process.workerPid(), worker);
  });

  it('starts and ends a release and changes endpoints under load without a reload: 0 failed, none retried', async () => {
    await router.apply(table(++version, 0, { stable: [stable.url], canary: null })); // no release
    const worker = await router.process.workerPid();
    const socket = router.adminSocket;
    const users = Array.from({ length: 300 }, (_, i) => `e-${i}`);
    const only = async (expected: string): Promise<void> => {
      const got = new Set((await versionsOf(pool, users, (u) => ({ 'x-user': u }))).values());
      assert.deepEqual([...got], [expected], `right after apply() every user gets ${expected}`);
    };
    const put = async (t: Omit<Parameters<typeof table>[2], 'more'>, weight = 0): Promise<void> => {
      await sleep(700); // users keep clicking between changes
      await router.apply(table(++version, weight, t));
      assert.equal(router.appliedVersion(), version);
    };
    const load = startLoad(url, { rps: 500, users: 2000, header: 'x-user', maxSeconds: 20, retryReusedOnce: true });
    await only('v1');
    assert.deepEqual(await serversIn(socket, 's0_canary'), []);
    await put({ stable: [stable.url], canary: [canary.url] }, 10_000); // a release starts, everyone on the canary
    await only('v2');
    assert.equal((await serversIn(socket, 's0_canary')).length, 1);
    await put({ stable: [stable.url, stable2.url], canary: [canary.url] }, 0); // an endpoint joins the stable version
    await only('v1');
    assert.equal((await serversIn(socket, 's0_stable')).length, 2);
    await put({ stable: [canary.url], canary: null }); // promoted: the canary's endpoints are the stable ones now
    await only('v2');
    await sleep(1000);
    const stats = await load.stop();
    console.log(
      `release start/end and endpoint changes without a reload: sent ${stats.sent}, failed ${stats.failed}, retried ${stats.retried}`,
    );
    assert.equal(
      await router.process.workerPid(),
      worker,
      'none of these changes may reload HAProxy (a reload closes idle user connections)',
    );
    assert.equal(stats.failed, 0, stats.failures.slice(0, 5).join('; '));
    assert.equal(stats.retried, 0, 'no connection was closed under a request');
    assert.ok(stats.sent >= 1500, `load sent only ${stats.sent}`);
    assert.deepEqual(await serversIn(socket, 's0_canary'), [], 'the retired canary servers are deleted');
    assert.equal((await serversIn(socket, 's0_stable')).length, 1);
    // A reload (the next structural change, or a restart) creates the same servers from the written config.
    const config = readFileSync(join(dir, 'haproxy.cfg'), 'utf8');
    assert.equal(config.match(/^ {2}server /gm)?.length, 1, config);
  });

  it('lets a retired server finish its request in flight, then deletes it', async () => {
    await router.apply(table(++version, 0, { stable: [stable2.url], canary: null }));
    const worker = await router.process.workerPid();
    const retiring = await serversIn(router.adminSocket, 's0_stable');
    const slow = pool.request({ method: 'GET', path: '/slow', headers: { 'x-user': 'slow' } });
    await sleep(300);
    await router.apply(table(++version, 0, { stable: [stable.url], canary: null }));
    assert.equal(await (await pool.request({ method: 'GET', path: '/', headers: { 'x-user': 'x' } })).body.text(), 'v1');
    const res = await slow;
    assert.equal(res.statusCode, 200, 'the request in flight on the retired server was answered');
    assert.equal(await res.body.text(), 'v1');
    const deadline = Date.now() + 15_000;
    let left = await serversIn(router.adminSocket, 's0_stable');
    while (left.includes(retiring[0]!) && Date.now() < deadline) {
      await sleep(250);
      left = await serversIn(router.adminSocket, 's0_stable');
    }
    assert.ok(!left.includes(retiring[0]!), `the retired server is deleted once idle: ${left.join(', ')}`);
    assert.equal(await router.process.workerPid(), worker);
  });

  it('reuses upstream connections to a server added at runtime, as to one from the config', async () => {
    const fresh = await upstream('v3');
    try {
      await router.apply(table(++version, 0, { stable: [stable.url], canary: [canary.url] }));
      const worker = await router.process.workerPid();
      await router.apply(table(++version, 10_000, { stable: [stable.url], canary: [fresh.url] }));
      assert.equal(await router.process.workerPid(), worker, 'the new canary server was added at runtime');
      const one = new Pool(url, { connections: 1 });
      for (let i = 0; i < 200; i++) {
        const res = await one.request({ method: 'GET', path: '/', headers: { 'x-user': `p-${i}` } });
        assert.equal(await res.body.text(), 'v3');
      }
      await one.close();
      // Without a pool HAProxy opened one upstream connection per request (200): the canary would be judged on that.
      assert.ok(fresh.connections() <= 3, `200 requests took ${fresh.connections()} upstream connections`);
    } finally {
      await router.apply(table(++version, 0, { stable: [stable.url], canary: [canary.url] }));
      await fresh.close();
    }
  });

  it('refuses an endpoint whose host name does not resolve, and keeps the previous table whole', async () => {
    await router.apply(table(++version, 0, { stable: [stable.url], canary: null }));
    const applied = router.appliedVersion();
    const before = await serversIn(router.adminSocket, 's0_stable');
    await assert.rejects(
      router.apply(table(++version, 10_000, { stable: [stable.url], canary: [canary.url, 'http://no-such-host.invalid:8080'] })),
      /no-such-host\.invalid/,
    );
    assert.equal(router.appliedVersion(), applied);
    assert.deepEqual(await serversIn(router.adminSocket, 's0_canary'), [], 'no server of the refused table was added');
    assert.deepEqual(await serversIn(router.adminSocket, 's0_stable'), before);
    assert.equal(await (await pool.request({ method: 'GET', path: '/', headers: { 'x-user': 'n' } })).body.text(), 'v1');
  });

  it('adds a service through a graceful reload under load with 0 failed requests', async () => {
    await apply(2000);
    const worker = await router.process.workerPid();
    const load = startLoad(url, { rps: 500, users: 2000, header: 'x-user', maxSeconds: 15, retryReusedOnce: true });
    await sleep(1500);
    const t0 = performance.now();
    const api: RouteEntry = {
      service: 'api',
      match: { pathPrefix: '/api' },
      stickiness: { header: 'x-user', cookie: '' },
      rules: [],
      stable: { version: 'a1', endpoints: [stable2.url] },
      canary: null,
    };
    await router.apply(table(++version, 2000, { stable: [stable.url], canary: [canary.url], more: [api] }));
    const ms = performance.now() - t0;
    await sleep(1500);
    const stats = await load.stop();
    // The old worker closes its idle kept-alive connections: a request written on one at that
    // instant is retried once (RFC 9112 §9.3.1, as browsers do) and counted, never failed.
    console.log(
      `structural change (reload) applied in ${ms.toFixed(0)} ms; load sent ${stats.sent}, failed ${stats.failed}, retried ${stats.retried}`,
    );
    assert.notEqual(await router.process.workerPid(), worker, 'a new service reloads HAProxy');
    assert.equal(stats.failed, 0, stats.failures.slice(0, 5).join('; '));
    assert.equal(await (await pool.request({ method: 'GET', path: '/api/x', headers: { 'x-user': 'a' } })).body.text(), 'v1');
  });

  it('keeps serving the last table when the agent goes; a new agent adopts it and nobody moves', async () => {
    await apply(2500);
    const users = Array.from({ length: 500 }, (_, i) => `r-${i}`);
    const before = await versionsOf(pool, users, (u) => ({ 'x-user': u }));
    const master = router.masterPid;
    const worker = await router.process.workerPid();
    const applied = router.appliedVersion();
    await router.close(); // the agent is gone; HAProxy is not
    assert.deepEqual(await versionsOf(pool, users, (u) => ({ 'x-user': u })), before);
    router = await open();
    assert.equal(router.masterPid, master, 'the new agent adopts the running HAProxy');
    assert.equal(await router.process.workerPid(), worker, 'adopting the same table reloads nothing');
    assert.equal(router.appliedVersion(), applied);
    assert.deepEqual(await versionsOf(pool, users, (u) => ({ 'x-user': u })), before);
  });

  it('brings a killed HAProxy back with the same table', async () => {
    const users = Array.from({ length: 500 }, (_, i) => `k-${i}`);
    const before = await versionsOf(pool, users, (u) => ({ 'x-user': u }));
    const applied = router.appliedVersion();
    await router.stopProxy();
    await pool.close();
    router = await open();
    pool = new Pool(url, { connections: 32 });
    assert.equal(router.appliedVersion(), applied);
    assert.deepEqual(await versionsOf(pool, users, (u) => ({ 'x-user': u })), before);
  });
});

describe('HaproxyRouter service matching', { skip, timeout: 60_000 }, () => {
  let dir: string;
  let router: HaproxyRouter;
  const ups: Array<Awaited<ReturnType<typeof upstream>>> = [];
  let pool: Pool;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tern-haproxy-match-'));
    for (const name of ['A', 'B', 'C', 'D']) ups.push(await upstream(name));
    const port = await freePort();
    router = await HaproxyRouter.open({ dir, listen: { host: '127.0.0.1', port }, logPort: null, sampleEvery: 1, logger });
    pool = new Pool(`http://127.0.0.1:${port}`, { connections: 4 });
    const route = (service: string, match: RouteEntry['match'], i: number): RouteEntry => ({
      service,
      match,
      stickiness: { cookie: '' },
      rules: [],
      stable: { version: service, endpoints: [ups[i]!.url] },
      canary: null,
    });
    await router.apply({
      version: 1,
      routes: [
        route('a', { host: 'a.test', pathPrefix: '/api/' }, 0),
        route('b', { host: 'a.test' }, 1),
        route('c', { pathPrefix: '/api' }, 2),
        route('d', { pathPrefix: '/api/v2' }, 3),
      ],
    });
  });

  after(async () => {
    await pool?.close();
    await router?.stopProxy();
    await Promise.all(ups.map((u) => u.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('matches host routes first, then host-less ones, longest prefix on path-segment boundaries (as the built-in gateway)', async () => {
    const cases: Array<[host: string, path: string, expected: string]> = [
      ['a.test', '/api/x', 'A'],
      ['A.TEST:8080', '/api', 'A'],
      ['a.test', '/api/v2/y', 'A'],
      ['a.test', '/apix', 'B'],
      ['a.test', '/', 'B'],
      ['b.test', '/api/x?q=1', 'C'],
      ['b.test', '/api', 'C'],
      ['b.test', '/api/v2', 'D'],
      ['b.test', '/api/v2/y', 'D'],
      ['b.test', '/api/v20', 'C'],
      ['b.test', '/other', '404'],
    ];
    for (const [host, path, expected] of cases) {
      const res = await pool.request({ method: 'GET', path, headers: { host } });
      const body = await res.body.text();
      assert.equal(res.statusCode === 404 ? '404' : body, expected, `${host}${path}`);
      assert.equal(res.headers['set-cookie'], undefined, 'cookies off: none issued');
    }
  });
});

describe('HaproxyRouter keep-alive and threads', { skip, timeout: 60_000 }, () => {
  const dirs: string[] = [];
  const routers: HaproxyRouter[] = [];
  let v1: Awaited<ReturnType<typeof upstream>>;
  let v2: Awaited<ReturnType<typeof upstream>>;

  before(async () => {
    [v1, v2] = await Promise.all([upstream('v1'), upstream('v2')]);
  });

  after(async () => {
    for (const r of routers) await r.stopProxy();
    await Promise.all([v1?.close(), v2?.close()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A router on its own port with `extra` options, routing to v1 and v2. */
  const start = async (extra: { keepAliveTimeoutMs?: number; threads?: number } = {}): Promise<{ port: number; router: HaproxyRouter }> => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-haproxy-ka-'));
    dirs.push(dir);
    const port = await freePort();
    const router = await HaproxyRouter.open({ dir, listen: { host: '127.0.0.1', port }, logPort: null, sampleEvery: 1, logger, ...extra });
    routers.push(router);
    await router.apply(table(1, 0, { stable: [v1.url], canary: [v2.url] }));
    return { port, router };
  };

  /** One keep-alive connection: `ask()` sends a request and resolves with its answer's status line; `closed` resolves when the server closes it. */
  const connection = async (port: number): Promise<{ ask(): Promise<string>; closed: Promise<number>; end(): void }> => {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    const opened = performance.now();
    const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now() - opened)));
    socket.on('error', () => undefined);
    return {
      ask: () =>
        new Promise((resolve, reject) => {
          socket.once('data', (d: Buffer) => resolve(d.toString('latin1').split('\r\n')[0]!));
          socket.once('close', () => reject(new Error('closed before the answer')));
          socket.write('GET / HTTP/1.1\r\nhost: web.test\r\nx-user: u1\r\n\r\n');
        }),
      closed,
      end: () => socket.destroy(),
    };
  };

  const OK = 'HTTP/1.1 200 OK';

  it('keeps an idle user connection for 75 s by default, as tern gateway (12 s idle: the connection still answers)', async () => {
    const c = await connection((await start()).port);
    assert.equal(await c.ask(), OK);
    await sleep(12_000);
    assert.equal(await c.ask(), OK, 'the same connection answers after 12 s idle');
    c.end();
  });

  it('closes an idle connection after keepAliveTimeoutMs (tern agent haproxy --keepalive-timeout)', async () => {
    const c = await connection((await start({ keepAliveTimeoutMs: 1_000 })).port);
    assert.equal(await c.ask(), OK);
    await sleep(300);
    assert.equal(await c.ask(), OK, 'kept within the timeout');
    const closedAfter = await c.closed;
    assert.ok(closedAfter >= 1_200 && closedAfter < 4_000, `closed by HAProxy ${closedAfter.toFixed(0)} ms after it opened`);
  });

  it('runs the threads asked for (tern agent haproxy --threads), else one per CPU', async () => {
    const threads = async (extra: { threads?: number }): Promise<string | undefined> => {
      const { router } = await start(extra);
      const info = await runtimeCommand(router.process.adminSocket, 'show info');
      return /^Nbthread: (\d+)$/m.exec(info)?.[1];
    };
    assert.equal(await threads({ threads: 1 }), '1');
    assert.equal(await threads({}), String(availableParallelism()));
  });
});

/**
 * HTTPS endpoints with active health checks, as production runs them: HAProxy verifies the
 * upstream's certificate against the system's CAs (`ca-file @system-ca`), so the test runs
 * HAProxy in its own mount namespace where /etc/ssl/certs holds only the test CA (root and
 * `unshare`, as in CI; elsewhere without them it skips).
 */
function canUnshare(): boolean {
  try {
    execFileSync('unshare', ['-m', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const skipTls = skip || (!canUnshare() && process.env.CI !== 'true' ? 'needs root and unshare -m (a private /etc/ssl/certs)' : false);

describe('HaproxyRouter with https endpoints and health checks', { skip: skipTls, timeout: 120_000 }, () => {
  let dir: string;
  let router: HaproxyRouter;
  let pool: Pool;
  let v1: Upstream;
  let v2: Upstream;
  let version = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tern-haproxy-tls-'));
    const ca = await makeCa(dir);
    const cert = await issueCert(dir, ca, 'upstream');
    const certs = join(dir, 'certs');
    mkdirSync(certs);
    // HAProxy's @system-ca reads the directory's *.pem and *.crt files (not OpenSSL's hash links).
    copyFileSync(ca.certFile, join(certs, 'tern-test-ca.pem'));
    const bin = join(dir, 'haproxy-ns');
    writeFileSync(bin, `#!/bin/sh\nexec unshare -m sh -c 'mount --bind "$0" /etc/ssl/certs && exec haproxy "$@"' ${certs} "$@"\n`, {
      mode: 0o700,
    });
    const tls = { key: readFileSync(cert.keyFile, 'utf8'), cert: cert.pem };
    [v1, v2] = await Promise.all([upstream('v1', tls), upstream('v2', tls)]);
    const port = await freePort();
    router = await HaproxyRouter.open({
      dir,
      bin,
      listen: { host: '127.0.0.1', port },
      logPort: null,
      sampleEvery: 1,
      healthPath: '/health',
      logger,
    });
    pool = new Pool(`http://127.0.0.1:${port}`, { connections: 8 });
  });

  after(async () => {
    await pool?.close();
    await router?.stopProxy();
    await Promise.all([v1?.close(), v2?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const answers = async (): Promise<string[]> => {
    const users = Array.from({ length: 100 }, (_, i) => `t-${i}`);
    const out = await Promise.all(
      users.map(async (u) => {
        const res = await pool.request({ method: 'GET', path: '/', headers: { 'x-user': u } });
        return `${res.statusCode} ${await res.body.text()}`;
      }),
    );
    return [...new Set(out)].sort();
  };

  it('keeps servers added at runtime up through a release start and a promotion (health checked over TLS)', async () => {
    await router.apply(table(++version, 0, { stable: [v1.url], canary: null }));
    assert.deepEqual(await answers(), ['200 v1']);
    const worker = await router.process.workerPid();
    await router.apply(table(++version, 10_000, { stable: [v1.url], canary: [v2.url] })); // the canary's server is added at runtime
    // Two failed checks (inter 2 s, fall 2) would have marked it down by now.
    await sleep(5000);
    assert.deepEqual(await answers(), ['200 v2'], 'the canary added at runtime passes its TLS health check');
    await router.apply(table(++version, 0, { stable: [v2.url], canary: null })); // promoted: the stable's server is new too
    await sleep(5000);
    assert.deepEqual(await answers(), ['200 v2'], 'the promoted stable passes its TLS health check');
    assert.equal(await router.process.workerPid(), worker, 'no reload');
    const state = await runtimeCommand(router.adminSocket, 'show servers state s0_stable');
    assert.match(state, /s0_stable \d+ e[0-9a-f]+ \S+ 2 0 /, `the promoted server is running: ${state}`);
  });
});
