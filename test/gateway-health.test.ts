/**
 * Endpoint health over real sockets: passive ejection of a killed endpoint under steady load
 * with zero failed GETs, canary fallback to stable, and active health checks.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type Gateway } from '../src/gateway/gateway.js';
import { client, closedPort, mapLimit, route, silent, startBackend, table, type Backend } from './fixtures/gateway-harness.js';

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('gateway endpoint health', () => {
  const http = client(16);
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
    await http.agent.close();
  });

  async function gateway(backends: Backend[], options: Parameters<typeof startGateway>[0]): Promise<Gateway> {
    const gw = await startGateway(options);
    cleanup.push(() => gw.close(), ...backends.map((b) => () => b.close()));
    return gw;
  }

  it('ejects a killed stable endpoint under steady load with zero failed GETs', async () => {
    const [a, b] = await Promise.all([startBackend('A'), startBackend('B')]);
    const gw = await gateway([a, b], {
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: table(1, route({ stable: [a.url, b.url] })),
    });
    let sent = 0;
    const statuses = await mapLimit(Array.from({ length: 2_000 }), 8, async (_, i) => {
      if (i === 500) await b.kill();
      sent++;
      return (await http.get(`${gw.url}/r/${i}`)).status;
    });
    assert.equal(sent, 2_000);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      'every GET must succeed',
    );
    const metrics = await gw.metrics.prometheus();
    const failures = [...metrics.matchAll(/tern_gateway_upstream_errors_total\{[^}]*\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(failures >= 1, 'the dead endpoint must have been tried');
    assert.ok(failures <= 20, `B should be ejected after a few failures, saw ${failures}`);
    assert.ok(a.seen.length > 1_500);
  });

  it('loses no request while the weight moves 0 → 100 → 0 under steady load', async () => {
    const [v1, v2] = await Promise.all([startBackend('v1'), startBackend('v2')]);
    const at = (version: number, weight: number) =>
      table(version, route({ header: 'x-user', stable: [v1.url], canary: { endpoints: [v2.url], weight } }));
    const gw = await gateway([v1, v2], { host: '127.0.0.1', port: 0, logger: silent, admin: false, initialTable: at(1, 0) });
    const weights = [0, 1_000, 2_500, 5_000, 7_500, 10_000, 7_500, 5_000, 2_500, 1_000, 0];
    let step = 0;
    const mover = setInterval(() => {
      step = Math.min(step + 1, weights.length - 1);
      gw.applyTable(at(step + 1, weights[step]!));
    }, 25);
    const results = await mapLimit(
      Array.from({ length: 2_000 }),
      8,
      async (_, i) => (await http.get(`${gw.url}/`, { 'x-user': `load-${i % 300}` })).status,
    ).finally(() => clearInterval(mover));
    assert.deepEqual(
      results.filter((s) => s !== 200),
      [],
    );
    assert.ok(v2.seen.length > 0 && v1.seen.length > 0, 'both versions served during the move');
  });

  it('serves canary users from stable when every canary endpoint is down, and reports it', async () => {
    const stable = await startBackend('v1');
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const gw = await gateway([stable], {
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      initialTable: table(
        1,
        route({ header: 'x-user', stable: [stable.url], canary: { endpoints: [dead], weight: 10_000, releaseId: 'rel-7' } }),
      ),
    });
    const bodies = await mapLimit(
      Array.from({ length: 40 }, (_, i) => `u${i}`),
      4,
      async (u) => (await http.get(`${gw.url}/`, { 'x-user': u })).text,
    );
    assert.deepEqual(new Set(bodies), new Set(['v1']));
    const events = gw.metrics.drainFallbacks();
    assert.equal(
      events.reduce((n, e) => n + e.count, 0),
      40,
    );
    assert.ok(events.every((e) => e.type === 'canary_unavailable' && e.releaseId === 'rel-7'));
    assert.match(await gw.metrics.prometheus(), /tern_gateway_canary_fallback_total\{service="svc"\} 40/);
  });

  it('takes an endpoint out when active checks fail and back when they pass again', async () => {
    const [a, b] = await Promise.all([startBackend('A'), startBackend('B')]);
    const gw = await gateway([a, b], {
      host: '127.0.0.1',
      port: 0,
      logger: silent,
      admin: false,
      healthCheck: { path: '/healthz', intervalMs: 40, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 2 },
      initialTable: table(1, route({ stable: [a.url, b.url] })),
    });
    b.stats.healthy = false;
    await until(async () => {
      const seen = await mapLimit(Array.from({ length: 6 }), 2, async () => (await http.get(`${gw.url}/`)).text);
      return seen.every((s) => s === 'A');
    });
    const out = await mapLimit(Array.from({ length: 30 }), 4, async () => (await http.get(`${gw.url}/`)).text);
    assert.deepEqual(new Set(out), new Set(['A']));
    b.stats.healthy = true;
    await until(async () => (await mapLimit(Array.from({ length: 6 }), 2, async () => (await http.get(`${gw.url}/`)).text)).includes('B'));
  });
});
