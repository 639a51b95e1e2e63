/**
 * Alertmanager out, end to end: a real Alertmanager on a free port, a real
 * `tern server --alertmanager-url`, two version apps (the canary answering 5xx to half its
 * requests) and user traffic through the built-in gateway. The failing verdict pauses the
 * release; the alert is visible through `amtool alert query` with its labels within 5 s; it
 * resolves once the release ends (rolled back), and the rollback raises its own alert.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLoad } from './support/load.js';
import { AMTOOL, monitoringAvailable, run, startAlertmanager, stopDaemons } from './support/monitoring.js';
import { BIN, cleanEnv, killAll, startNode, startVersionApp } from './support/processes.js';
import { apiCaller } from './support/api.js';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
  endsAt: string;
}

describe(
  'tern server --alertmanager-url',
  { skip: !monitoringAvailable() && 'prometheus-alertmanager is not installed', timeout: 120_000 },
  () => {
    let dir: string;
    let amUrl: string;
    let apiUrl: string;
    let gatewayUrl: string;
    let token: string;

    const api = apiCaller(
      () => apiUrl,
      () => token,
    );

    /** Alerts Alertmanager holds now (active ones only, as `amtool alert query` shows them). */
    async function amAlerts(): Promise<AmAlert[]> {
      return (await (await fetch(`${amUrl}/api/v2/alerts?active=true&silenced=false&inhibited=false`)).json()) as AmAlert[];
    }

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'tern-am-'));
      amUrl = (await startAlertmanager(dir)).url;
      const dataDir = path.join(dir, 'tern');
      const server = startNode(
        [
          BIN,
          'server',
          '--data-dir',
          dataDir,
          '--api-port',
          '0',
          '--gateway-port',
          '0',
          '--log-level',
          'warn',
          '--alertmanager-url',
          amUrl,
        ],
        cleanEnv(),
      );
      apiUrl = (await server.waitFor(/Tern API listening on (\S+)/))[1]!;
      gatewayUrl = (await server.waitFor(/Tern gateway listening on (\S+)/))[1]!;
      token = (await readFile(path.join(dataDir, 'admin.token'), 'utf8')).trim();
    });
    after(async () => {
      await killAll();
      await stopDaemons();
      await rm(dir, { recursive: true, force: true });
    });

    it('posts a failing check with its labels within 5 s, resolves it when the release ends, and alerts the rollback', async () => {
      const stable = await startVersionApp('v1');
      const canary = await startVersionApp('v2', { errorRate: 0.5 });
      assert.equal(
        (
          await api('POST', '/api/v1/services', {
            name: 'shop',
            match: { pathPrefix: '/' },
            stickiness: { header: 'x-user-id' },
            stable: { version: 'v1', endpoints: [stable.url] },
          })
        ).status,
        201,
      );
      const load = startLoad(gatewayUrl, { rps: 100, users: 500, maxSeconds: 60 });
      try {
        const started = await api<{ id: string }>('POST', '/api/v1/services/shop/releases', {
          version: 'v2',
          endpoints: [canary.url],
          steps: '50:60s,100',
          analysis: { onFailure: 'pause' },
        });
        assert.equal(started.status, 201, JSON.stringify(started.json));
        const id = started.json.id;
        const deadline = Date.now() + 60_000;
        while ((await api<{ status: string }>('GET', `/api/v1/releases/${id}`)).json.status !== 'paused') {
          assert.ok(Date.now() < deadline, 'the failing canary was never paused');
          await sleep(100);
        }
        const failedAt = Date.now();
        let firing: AmAlert | undefined;
        while (!(firing = (await amAlerts()).find((a) => a.labels.alertname === 'TernCheckFailing' && a.labels.release === id))) {
          assert.ok(Date.now() - failedAt < 5_000, 'no TernCheckFailing alert in Alertmanager within 5 s of the failing verdict');
          await sleep(100);
        }
        const seenMs = Date.now() - failedAt;
        assert.deepEqual(
          { service: firing.labels.service, version: firing.labels.version, severity: firing.labels.severity },
          { service: 'shop', version: 'v2', severity: 'critical' },
        );
        assert.match(firing.labels.check ?? '', /error/i);
        assert.match(firing.annotations.dashboard ?? '', new RegExp(`/releases/${id}$`));
        assert.ok((firing.annotations.description ?? '').length > 10, 'the verdict sentence is in the description');
        const query = run(AMTOOL, ['alert', 'query', `--alertmanager.url=${amUrl}`, 'alertname=TernCheckFailing', `release=${id}`]);
        assert.equal(query.status, 0, query.output);
        assert.match(query.output, /TernCheckFailing/);
        process.stdout.write(`# alert visible in Alertmanager ${seenMs} ms after the failing verdict\n`);

        assert.equal((await api('POST', `/api/v1/releases/${id}/rollback`, { reason: 'canary errors' })).status, 200);
        const endDeadline = Date.now() + 10_000;
        for (;;) {
          const alerts = await amAlerts();
          const stillFiring = alerts.some((a) => a.labels.alertname === 'TernCheckFailing' && a.labels.release === id);
          const rolledBack = alerts.find((a) => a.labels.alertname === 'TernReleaseRolledBack' && a.labels.release === id);
          if (!stillFiring && rolledBack) {
            assert.equal(rolledBack.labels.service, 'shop');
            assert.ok(Date.parse(rolledBack.endsAt) > Date.now() + 60_000, 'the rollback alert has a bounded life ahead of it');
            break;
          }
          assert.ok(Date.now() < endDeadline, `after the rollback: ${JSON.stringify(alerts.map((a) => a.labels))}`);
          await sleep(200);
        }
        const after = run(AMTOOL, ['alert', 'query', `--alertmanager.url=${amUrl}`, 'alertname=TernCheckFailing']);
        assert.equal(after.status, 0, after.output);
        assert.doesNotMatch(after.output, new RegExp(id));
      } finally {
        await load.stop();
      }
    });
  },
);
