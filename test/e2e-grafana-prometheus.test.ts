/**
 * Every query of the shipped Grafana dashboard (deploy/grafana/tern.json), run through a real
 * Prometheus (scrape interval 1 s, the shipped rules loaded) scraping a real `tern server`
 * (API /metrics with --metrics-public, the gateway's admin /metrics) while a release runs
 * with user traffic through the gateway: none may error or come back empty.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLoad } from './support/load.js';
import { monitoringAvailable, startPrometheus, stopDaemons } from './support/monitoring.js';
import { BIN, cleanEnv, killAll, ROOT, startNode, startVersionApp } from './support/processes.js';
import { apiCaller } from './support/api.js';

interface Query {
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

async function dashboardQueries(): Promise<Query[]> {
  const d = JSON.parse(await readFile(path.join(ROOT, 'deploy', 'grafana', 'tern.json'), 'utf8')) as {
    panels: Array<{ title: string; targets?: Array<{ refId: string; expr: string }> }>;
  };
  // Grafana's "All" for the service variable is its allValue, `.+`.
  return d.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr.replaceAll('$service', '.+') })),
  );
}

describe(
  'the Grafana dashboard against a real Prometheus scraping Tern',
  { skip: !monitoringAvailable() && 'prometheus is not installed', timeout: 120_000 },
  () => {
    let dir: string;
    let promUrl: string;
    let apiUrl: string;
    let gatewayUrl: string;
    let token: string;

    const api = apiCaller(
      () => apiUrl,
      () => token,
    );

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'tern-prom-'));
      const dataDir = path.join(dir, 'tern');
      const server = startNode(
        [BIN, 'server', '--data-dir', dataDir, '--api-port', '0', '--gateway-port', '0', '--log-level', 'warn', '--metrics-public'],
        cleanEnv(),
      );
      apiUrl = (await server.waitFor(/Tern API listening on (\S+)/))[1]!;
      const [, gw, adminMetrics] = await server.waitFor(/Tern gateway listening on (\S+) \(metrics: (\S+)\)/);
      gatewayUrl = gw!;
      token = (await readFile(path.join(dataDir, 'admin.token'), 'utf8')).trim();
      promUrl = (
        await startPrometheus(
          dir,
          [
            { job: 'tern-api', url: `${apiUrl}/metrics` },
            { job: 'tern-gateway', url: adminMetrics! },
          ],
          [path.join(ROOT, 'deploy', 'prometheus', 'tern-rules.yml')],
        )
      ).url;
    });
    after(async () => {
      await killAll();
      await stopDaemons();
      await rm(dir, { recursive: true, force: true });
    });

    it('answers every panel query with data while a release runs', async () => {
      const stable = await startVersionApp('v1');
      const canary = await startVersionApp('v2');
      const created = await api('POST', '/api/v1/services', {
        name: 'shop',
        match: { pathPrefix: '/' },
        stickiness: { header: 'x-user-id' },
        stable: { version: 'v1', endpoints: [stable.url] },
      });
      assert.equal(created.status, 201);
      const load = startLoad(gatewayUrl, { rps: 80, users: 500, maxSeconds: 60 });
      try {
        const started = await api<{ id: string }>('POST', '/api/v1/services/shop/releases', {
          version: 'v2',
          endpoints: [canary.url],
          steps: '30:120s,100',
        });
        assert.equal(started.status, 201, JSON.stringify(started.json));
        const queries = await dashboardQueries();
        assert.ok(queries.length >= 12, `${queries.length} queries`);
        const pending = new Map(queries.map((q) => [`${q.panel} ${q.refId}`, q]));
        const errors: string[] = [];
        const deadline = Date.now() + 45_000;
        while (pending.size > 0 && Date.now() < deadline) {
          for (const [key, q] of pending) {
            const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q.expr)}`);
            const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
            if (body.status !== 'success') errors.push(`${key}: ${body.error ?? res.status}`);
            else if ((body.data?.result.length ?? 0) > 0) pending.delete(key);
          }
          assert.deepEqual(errors, [], 'queries that error');
          if (pending.size > 0) await sleep(1000);
        }
        assert.deepEqual(
          [...pending.values()].map((q) => `${q.panel}: ${q.expr}`),
          [],
          'panel queries that returned nothing while the release ran',
        );
        const status = await api<{ status: string }>('GET', `/api/v1/releases/${started.json.id}`);
        assert.equal(status.json.status, 'progressing', 'the release was running throughout');
        // The role labels reach Prometheus: canary traffic is its own series, the version an info metric.
        const info = (await (
          await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent('tern_gateway_version_info{role="canary"}')}`)
        ).json()) as {
          data: { result: Array<{ metric: Record<string, string> }> };
        };
        assert.equal(info.data.result[0]?.metric.version, 'v2');
      } finally {
        await load.stop();
      }
    });
  },
);
