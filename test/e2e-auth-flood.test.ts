/**
 * Measured: failed logins from the gateway's own address must not delay routing.
 * Real sockets, one process: `tern server`'s composition (API, controller, built-in gateway,
 * all on 127.0.0.1) plus a second gateway replica (what `tern gateway` runs) and two backend
 * versions. While 100 bad-token requests a second hit the API from 127.0.0.1, an admin rolls
 * the release back; both gateways must route every user to stable within 2 s (the
 * required figure; before the fix, the gateways' long-polls were refused with 429 and it took 86 s).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { startGateway } from '../src/gateway/gateway.js';
import { startServer } from '../src/main.js';

const FLOOD_PER_SECOND = 100;
const FLOOD_SECONDS = 6;
const USERS = Array.from({ length: 20 }, (_, i) => `user-${i}`);

async function versionApp(label: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => res.end(label));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function versionsAt(gatewayUrl: string): Promise<Set<string>> {
  const seen = new Set<string>();
  for (const user of USERS) {
    const res = await fetch(`${gatewayUrl}/`, { headers: { 'x-user-id': user } });
    seen.add(await res.text());
  }
  return seen;
}

/** Waits until the versions users get from `gatewayUrl` are exactly `labels`; resolves with the ms it took. */
async function msUntil(gatewayUrl: string, labels: readonly string[], since: number, limitMs: number): Promise<number> {
  while (performance.now() - since < limitMs) {
    const seen = await versionsAt(gatewayUrl);
    if (seen.size === labels.length && labels.every((l) => seen.has(l))) return performance.now() - since;
    await sleep(20);
  }
  return Number.POSITIVE_INFINITY;
}

describe('failed-login flood from the gateway address', { timeout: 60_000 }, () => {
  it('a rollback reaches the built-in gateway and a second gateway within 2 s while 100 bad logins a second arrive', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tern-flood-'));
    const [v1, v2] = await Promise.all([versionApp('v1'), versionApp('v2')]);
    const server = await startServer({
      dataDir,
      host: '127.0.0.1',
      apiPort: 0,
      gatewayPort: 0,
      adminToken: 'tern_flood-test-admin-secret',
      logger: pino({ level: 'silent' }),
      controllerTickMs: 200,
    });
    let replica: Awaited<ReturnType<typeof startGateway>> | undefined;
    let flooding = true;
    const floodStatuses = new Map<number, number>();
    try {
      const api = async (method: string, url: string, body?: unknown): Promise<Record<string, unknown>> => {
        const res = await fetch(`${server.apiUrl}${url}`, {
          method,
          headers: { authorization: 'Bearer tern_flood-test-admin-secret', 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        assert.ok(res.status < 300, `${method} ${url}: ${res.status} ${await res.clone().text()}`);
        return (await res.json()) as Record<string, unknown>;
      };
      await api('POST', '/api/v1/services', {
        name: 'shop',
        match: { pathPrefix: '/' },
        stickiness: { header: 'x-user-id' },
        stable: { version: 'v1', endpoints: [v1.url] },
      });
      const release = await api('POST', '/api/v1/services/shop/releases', {
        version: 'v2',
        endpoints: [v2.url],
        steps: [{ weight: 50, hold: '1h', analysis: false }, { weight: 100 }],
      });
      const gatewayToken = (await api('POST', '/api/v1/tokens', { name: 'edge', role: 'gateway' })).secret as string;
      replica = await startGateway({
        host: '127.0.0.1',
        port: 0,
        controlPlane: { url: server.apiUrl, token: gatewayToken },
        admin: false,
        logger: pino({ level: 'silent' }),
      });
      assert.ok(Number.isFinite(await msUntil(server.gatewayUrl!, ['v1', 'v2'], performance.now(), 10_000)), 'built-in gateway splits');
      assert.ok(Number.isFinite(await msUntil(replica.url, ['v1', 'v2'], performance.now(), 10_000)), 'replica splits');

      // 100 bad logins a second from 127.0.0.1, the gateways' own address.
      const flood = (async () => {
        const start = performance.now();
        let sent = 0;
        while (flooding && performance.now() - start < FLOOD_SECONDS * 1000) {
          const due = Math.floor(((performance.now() - start) / 1000) * FLOOD_PER_SECOND);
          const batch: Promise<void>[] = [];
          for (; sent < due; sent++) {
            batch.push(
              fetch(`${server.apiUrl}/api/v1/dataplane/routing`, { headers: { authorization: `Bearer tern_guess-${sent}` } }).then(
                async (r) => {
                  await r.arrayBuffer();
                  floodStatuses.set(r.status, (floodStatuses.get(r.status) ?? 0) + 1);
                },
              ),
            );
          }
          await Promise.all(batch);
          await sleep(10);
        }
      })();
      await sleep(2000); // the limiter trips after 10 failures: the address is now refused
      assert.ok((floodStatuses.get(429) ?? 0) > 0, `the flood is rate-limited: ${JSON.stringify([...floodStatuses])}`);

      const rolledAt = performance.now();
      await api('POST', `/api/v1/releases/${release.id as string}/rollback`, { reason: 'flood test' });
      const [builtIn, second] = await Promise.all([
        msUntil(server.gatewayUrl!, ['v1'], rolledAt, 10_000),
        msUntil(replica.url, ['v1'], rolledAt, 10_000),
      ]);
      flooding = false;
      await flood;
      const sent = [...floodStatuses.values()].reduce((a, b) => a + b, 0);
      console.log(
        `rollback reached built-in gateway in ${Math.round(builtIn)} ms, replica in ${Math.round(second)} ms; flood ${sent} bad logins`,
      );
      assert.ok(builtIn <= 2000, `built-in gateway took ${builtIn} ms`);
      assert.ok(second <= 2000, `second gateway took ${second} ms`);
    } finally {
      flooding = false;
      await replica?.close();
      await server.close();
      v1.server.close();
      v2.server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
