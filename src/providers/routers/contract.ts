/**
 * The Router contract suite (node:test): what every data plane must do with a routing table,
 * checked through real user traffic, written once and run unchanged against each router
 * (built-in, HAProxy, NGINX), the way `storeContract` runs against both stores.
 *
 * ```ts
 * routerContract('haproxy', async () => {
 *   const proxy = await startHaproxyForTest();          // the data plane, on a free port
 *   return { router: proxy.router, url: proxy.url, close: () => proxy.stop() };
 * });
 * ```
 *
 * The suite starts two backends itself (tiny keep-alive node:http servers on port 0 answering
 * `v1` and `v2`) and makes one harness for all its cases; each case applies a fresh table with
 * a higher version, always the same service `contract` (path prefix `/`, users keyed by the
 * `x-user-id` header, the same two endpoints), so only weights, salts and rules change between
 * cases — never the structure. Users' keys include non-ASCII ones, sent as UTF-8 bytes.
 *
 * Cases: 20,000 users get the version `isCanary` (src/core/sticky.ts) predicts at
 * 5/25/50% (bit for bit, so every router agrees with every other) with a share within ±1
 * point; raising the weight moves no canary user back; header and cookie `equals` rules; weight
 * 0 → 100 → 0; a table needing a feature the router lacks is rejected by apply() and the old
 * table stays in force; appliedVersion() never runs ahead of what users get.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { isCanary } from '../../core/sticky.js';
import type { MatchRule, RouteEntry, RoutingTable } from '../../core/types.js';
import type { Router } from './router.js';

/** What a router implementation gives the suite. */
export interface RouterHarness {
  /** The router under test; the suite calls only apply() and appliedVersion(). */
  readonly router: Router;
  /** Base URL of the data plane's user traffic, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Stops the data plane and everything the harness started (called once, after the last case). */
  close(): Promise<void>;
}

/** Makes the data plane under test: fresh, with no table yet (or any table of version 0). */
export type MakeRouterHarness = () => Promise<RouterHarness>;

const USERS = 20_000;
const CONCURRENCY = 64;
/** 22 base64url characters, like a release salt (`randomBytes(16).toString('base64url')`). */
const SALT = 'tern-contract-salt-001';
const SERVICE = 'contract';
const STABLE = 'v1';
const CANARY = 'v2';

/** Users 0..n-1: mostly ASCII, with Latin-1, CJK and astral-plane keys mixed in. */
export function contractUsers(n: number, prefix = 'user'): string[] {
  return Array.from({ length: n }, (_, i) =>
    i % 7 === 3 ? `zoë-${prefix}-${i}` : i % 11 === 5 ? `用户-${prefix}-${i}` : i % 13 === 7 ? `🦊${prefix}${i}` : `${prefix}-${i}`,
  );
}

/** The header value whose bytes on the wire are the UTF-8 of `key` (undici writes headers as latin1). */
function utf8Header(key: string): string {
  return Buffer.from(key, 'utf8').toString('latin1');
}

async function startBackend(version: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(version) });
    res.end(version);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Sends one GET per item with bounded concurrency; resolves with the body (version) of each. */
async function versionsOf(pool: Pool, items: readonly Record<string, string>[]): Promise<string[]> {
  const out = new Array<string>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      const res = await pool.request({ method: 'GET', path: '/', headers: items[i]! });
      const body = await res.body.text();
      out[i] = res.statusCode === 200 ? body : `HTTP ${res.statusCode}`;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  return out;
}

/** Asserts every request got `expected(i)`, naming the first few that did not. */
function assertVersions(got: readonly string[], expected: (i: number) => string, label: (i: number) => string): void {
  const wrong: string[] = [];
  for (let i = 0; i < got.length; i++) if (got[i] !== expected(i)) wrong.push(`${label(i)}: got ${got[i]}, expected ${expected(i)}`);
  assert.equal(wrong.length, 0, `${wrong.length} of ${got.length} requests on the wrong version, e.g.\n${wrong.slice(0, 5).join('\n')}`);
}

/** Registers the contract suite for one router implementation. */
export function routerContract(name: string, makeHarness: MakeRouterHarness): void {
  void describe(`Router contract: ${name}`, { timeout: 300_000 }, () => {
    let harness: RouterHarness | undefined;
    let pool: Pool | undefined;
    const backends: { url: string; server: Server }[] = [];
    let version = 0;

    before(async () => {
      backends.push(await startBackend(STABLE), await startBackend(CANARY));
      harness = await makeHarness();
      pool = new Pool(harness.url, { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 10_000 });
    });
    after(async () => {
      await pool?.close();
      await harness?.close();
      await Promise.all(backends.map((b) => new Promise((resolve) => b.server.close(resolve))));
    });

    const h = (): { router: Router; pool: Pool } => ({ router: harness!.router, pool: pool! });

    /** The one route, at `weight` basis points, with `rules`. */
    const table = (weight: number, rules: readonly MatchRule[] = [], salt = SALT): RoutingTable => {
      // bucketHash as a spread: routing tables from before the xxh32 upgrade have no such field.
      const canary = {
        version: CANARY,
        endpoints: [backends[1]!.url],
        weight,
        salt,
        releaseId: 'contract-release',
        ...{ bucketHash: 'xxh32' as const },
      };
      const route: RouteEntry = {
        service: SERVICE,
        match: { pathPrefix: '/' },
        stickiness: { header: 'x-user-id', cookie: 'tern_uid' },
        rules,
        stable: { version: STABLE, endpoints: [backends[0]!.url] },
        canary,
      };
      return { version: ++version, routes: [route] };
    };

    const apply = async (t: RoutingTable): Promise<void> => {
      await h().router.apply(t);
      assert.equal(h().router.appliedVersion(), t.version, 'appliedVersion() is the table applied once apply() resolved');
    };

    const byUser = (users: readonly string[]): Record<string, string>[] => users.map((u) => ({ 'x-user-id': utf8Header(u) }));

    void it('sends each of 20,000 users where isCanary predicts at 5, 25 and 50% (±1 point), and raising the weight moves no canary user back', async () => {
      const users = contractUsers(USERS);
      const items = byUser(users);
      let previous: readonly string[] | null = null;
      for (const weight of [500, 2_500, 5_000]) {
        await apply(table(weight));
        const got = await versionsOf(h().pool, items);
        assertVersions(
          got,
          (i) => (isCanary(SALT, users[i]!, weight) ? CANARY : STABLE),
          (i) => `user ${JSON.stringify(users[i])} at ${weight / 100}%`,
        );
        const share = got.filter((v) => v === CANARY).length / users.length;
        assert.ok(Math.abs(share * 10_000 - weight) <= 100, `canary share ${(share * 100).toFixed(2)}% at ${weight / 100}%`);
        if (previous) {
          const movedBack = users.filter((_, i) => previous![i] === CANARY && got[i] !== CANARY);
          assert.deepEqual(movedBack.slice(0, 5), [], `${movedBack.length} canary users moved back at ${weight / 100}%`);
        }
        previous = got;
      }
    });

    void it('sends a user to the canary by a header equals rule, and to stable by one, whatever the weight', async () => {
      const users = contractUsers(300, 'rule');
      const rules: MatchRule[] = [
        { header: 'x-tester', equals: 'yes', target: 'canary' },
        { header: 'x-pin', equals: 'stable', target: 'stable' },
      ];
      await apply(table(0, rules));
      const testers = await versionsOf(
        h().pool,
        users.map((u) => ({ 'x-user-id': utf8Header(u), 'x-tester': 'yes' })),
      );
      assertVersions(
        testers,
        () => CANARY,
        (i) => `tester ${users[i]} at 0%`,
      );
      const others = await versionsOf(
        h().pool,
        users.map((u) => ({ 'x-user-id': utf8Header(u), 'x-tester': 'no' })),
      );
      assertVersions(
        others,
        () => STABLE,
        (i) => `x-tester: no, ${users[i]} at 0%`,
      );
      await apply(table(10_000, rules));
      const pinned = await versionsOf(
        h().pool,
        users.map((u) => ({ 'x-user-id': utf8Header(u), 'x-pin': 'stable' })),
      );
      assertVersions(
        pinned,
        () => STABLE,
        (i) => `x-pin: stable, ${users[i]} at 100%`,
      );
      const rest = await versionsOf(h().pool, byUser(users));
      assertVersions(
        rest,
        () => CANARY,
        (i) => `${users[i]} at 100%`,
      );
    });

    void it('sends a user to the canary by a cookie equals rule', async () => {
      const users = contractUsers(300, 'cookie');
      await apply(table(0, [{ cookie: 'tern_beta', equals: 'on', target: 'canary' }]));
      const beta = await versionsOf(
        h().pool,
        users.map((u) => ({ 'x-user-id': utf8Header(u), cookie: 'a=1; tern_beta=on' })),
      );
      assertVersions(
        beta,
        () => CANARY,
        (i) => `tern_beta=on, ${users[i]}`,
      );
      const off = await versionsOf(
        h().pool,
        users.map((u) => ({ 'x-user-id': utf8Header(u), cookie: 'tern_beta=off' })),
      );
      assertVersions(
        off,
        () => STABLE,
        (i) => `tern_beta=off, ${users[i]}`,
      );
    });

    void it('moves every user at weight 0 → 100 → 0', async () => {
      const users = contractUsers(1_000, 'flip');
      for (const [weight, expected] of [
        [0, STABLE],
        [10_000, CANARY],
        [0, STABLE],
      ] as const) {
        await apply(table(weight));
        const got = await versionsOf(h().pool, byUser(users));
        assertVersions(
          got,
          () => expected,
          (i) => `${users[i]} at ${weight / 100}%`,
        );
      }
    });

    void it('rejects a table needing a feature it lacks, and keeps the old table in force', async () => {
      const users = contractUsers(300, 'lack');
      await apply(table(0));
      const before = h().router.appliedVersion();
      const { features } = h().router;
      const lacking = table(10_000);
      const route = lacking.routes[0]!;
      const needs: RouteEntry = !features.regexRules
        ? { ...route, rules: [{ header: 'x-tester', regex: '^yes$', target: 'canary' }] }
        : !features.equalsRules
          ? { ...route, rules: [{ header: 'x-tester', equals: 'yes', target: 'canary' }] }
          : ({ ...route, canary: { ...route.canary!, bucketHash: 'contract-unknown-hash' } } as unknown as RouteEntry);
      await assert.rejects(h().router.apply({ ...lacking, routes: [needs] }));
      assert.equal(h().router.appliedVersion(), before, 'the applied version stays');
      const got = await versionsOf(
        h().pool,
        users.map((u) => ({ 'x-user-id': utf8Header(u), 'x-tester': 'yes' })),
      );
      assertVersions(
        got,
        () => STABLE,
        (i) => `${users[i]} after the rejected table`,
      );
    });

    void it('reports a version applied only once users are routed by it', async () => {
      const users = contractUsers(50, 'applied');
      await apply(table(0));
      const old = h().router.appliedVersion();
      const next = table(10_000);
      let settled = false;
      const applying = h()
        .router.apply(next)
        .finally(() => (settled = true));
      while (!settled) {
        const reported = h().router.appliedVersion();
        assert.ok(reported === old || reported === next.version, `appliedVersion() ${reported} is neither ${old} nor ${next.version}`);
        if (reported === next.version) {
          const got = await versionsOf(h().pool, byUser(users));
          assertVersions(
            got,
            () => CANARY,
            (i) => `${users[i]} once ${next.version} was reported applied`,
          );
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await applying;
      assert.equal(h().router.appliedVersion(), next.version);
      const got = await versionsOf(h().pool, byUser(users));
      assertVersions(
        got,
        () => CANARY,
        (i) => `${users[i]} after apply resolved`,
      );
    });
  });
}
