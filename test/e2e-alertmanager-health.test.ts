/**
 * Alertmanager out, Tern's health alerts, end to end against a real Alertmanager:
 * - TernDataPlaneStale: a real `tern gateway` carrying routing is frozen (SIGSTOP: a hung
 *   process, no clean leave); the alert appears once its last report is older than the 20 s live
 *   window — at most 20 s + one 5 s heartbeat + one 1 s poll after the freeze — with its labels,
 *   visible through `amtool alert query`; after SIGCONT it reports again and the alert resolves.
 * - TernNoControllerLeader: two `tern server`s on one PostgreSQL database (TERN_TEST_POSTGRES_URL;
 *   scripts/start-postgres.sh) while another session holds the leases table locked against writes
 *   (a stuck transaction): neither controller can renew or take the lease, both still read it,
 *   and within TTL (3 s) + margin (5 s) + one poll both post the alert, which Alertmanager holds
 *   once; releasing the lock lets a controller lead again and the alert resolves.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { AMTOOL, monitoringAvailable, run, startAlertmanager, stopDaemons } from './support/monitoring.js';
import { killAll, startTernGateway, startTernServer, startVersionApp, type TernServer } from './support/processes.js';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

interface Listing {
  routingVersion: number;
  dataPlanes: Array<{ name: string; state: string; appliedVersion: number }>;
}

const skip = !monitoringAvailable() && 'prometheus-alertmanager is not installed';

describe('tern server --alertmanager-url: health alerts', { skip, timeout: 180_000 }, () => {
  let dir: string;
  let amUrl: string;

  /** Active alerts named `alertname` (as `amtool alert query` shows them). */
  async function active(alertname: string): Promise<AmAlert[]> {
    const res = await fetch(
      `${amUrl}/api/v2/alerts?active=true&silenced=false&inhibited=false&filter=${encodeURIComponent(`alertname="${alertname}"`)}`,
    );
    return (await res.json()) as AmAlert[];
  }

  async function until<T>(what: string, withinMs: number, probe: () => Promise<T | undefined>): Promise<{ value: T; ms: number }> {
    const started = Date.now();
    for (;;) {
      const value = await probe();
      if (value !== undefined) return { value, ms: Date.now() - started };
      assert.ok(Date.now() - started < withinMs, `${what} not within ${withinMs} ms`);
      await sleep(200);
    }
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tern-am-health-'));
    amUrl = (await startAlertmanager(dir)).url;
  });
  after(async () => {
    await killAll();
    await stopDaemons();
    await rm(dir, { recursive: true, force: true });
  });

  it('a data plane that stops reporting raises TernDataPlaneStale with its labels, resolved once it reports again', async () => {
    const server = await startTernServer(path.join(dir, 'tern'), {}, ['--alertmanager-url', amUrl]);
    const call = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${server.apiUrl}${url}`, {
        method,
        headers: { authorization: `Bearer ${server.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      assert.ok(res.ok, `${method} ${url}: ${res.status} ${await res.clone().text()}`);
      return (await res.json()) as T;
    };
    const stable = await startVersionApp('v1');
    await call('POST', '/api/v1/services', {
      name: 'shop',
      match: { pathPrefix: '/' },
      stable: { version: 'v1', endpoints: [stable.url] },
    });
    const { secret } = await call<{ secret: string }>('POST', '/api/v1/tokens', { name: 'edge', role: 'gateway' });
    const gateway = await startTernGateway(server.apiUrl, secret, path.join(dir, 'gw.json'));
    const port = new URL(gateway.url).port;
    const { value: name } = await until('the gateway reporting the routing table', 15_000, async () => {
      const list = await call<Listing>('GET', '/api/v1/dataplanes');
      const mine = list.dataPlanes.find((dp) => dp.name.endsWith(`:${port}`));
      return mine !== undefined && mine.state === 'live' && mine.appliedVersion === list.routingVersion && mine.appliedVersion > 0
        ? mine.name
        : undefined;
    });
    assert.deepEqual(await active('TernDataPlaneStale'), [], 'no alert while it reports');

    gateway.proc.child.kill('SIGSTOP');
    const frozen = await until('TernDataPlaneStale in Alertmanager', 27_000, async () =>
      (await active('TernDataPlaneStale')).find((a) => a.labels.dataplane === name),
    );
    assert.deepEqual(
      { kind: frozen.value.labels.kind, services: frozen.value.labels.services, severity: frozen.value.labels.severity },
      { kind: 'builtin', services: '*', severity: 'critical' },
    );
    assert.match(frozen.value.annotations.description ?? '', /no report since .* routes with routing version \d+ \(fail static\)/);
    assert.equal((await active('TernDataPlaneStale')).length, 1, "the server's own gateway keeps reporting: no alert for it");
    const query = run(AMTOOL, ['alert', 'query', `--alertmanager.url=${amUrl}`, 'alertname=TernDataPlaneStale', `dataplane=${name}`]);
    assert.equal(query.status, 0, query.output);
    assert.match(query.output, /TernDataPlaneStale/);
    process.stdout.write(`# TernDataPlaneStale visible ${frozen.ms} ms after the data plane froze (live window 20 s)\n`);

    gateway.proc.child.kill('SIGCONT');
    const back = await until('TernDataPlaneStale resolved', 10_000, async () =>
      (await active('TernDataPlaneStale')).some((a) => a.labels.dataplane === name) ? undefined : true,
    );
    process.stdout.write(`# TernDataPlaneStale resolved ${back.ms} ms after the data plane resumed\n`);
    await server.proc.kill('SIGTERM');
  });

  const pgUrl = process.env.TERN_TEST_POSTGRES_URL;
  it(
    'two servers whose controllers cannot take the lease post TernNoControllerLeader once, resolved when one leads again',
    { skip: pgUrl === undefined && 'TERN_TEST_POSTGRES_URL is not set (scripts/start-postgres.sh)' },
    async () => {
      const dbName = `tern_am_${process.pid}_${randomBytes(4).toString('hex')}`;
      const admin = new Client({ connectionString: pgUrl });
      await admin.connect();
      await admin.query(`create database ${dbName}`);
      const dbUrl = Object.assign(new URL(pgUrl!), { pathname: `/${dbName}` }).toString();
      const env = { TERN_STORE_URL: dbUrl, TERN_ADMIN_TOKEN: randomBytes(24).toString('base64url'), TERN_WEBHOOK_SECRET: 'x'.repeat(32) };
      const locker = new Client({ connectionString: dbUrl });
      const servers: TernServer[] = [];
      try {
        for (const n of [1, 2]) servers.push(await startTernServer(path.join(dir, `pg-${n}`), env, ['--alertmanager-url', amUrl]));
        await locker.connect();
        const holder = async (): Promise<string | undefined> =>
          (
            await locker.query<{ holder: string }>(`select holder from leases where name = 'release-controller' and expires_at > $1`, [
              Date.now(),
            ])
          ).rows[0]?.holder;
        await until('a leader', 10_000, holder);
        await sleep(3000);
        assert.deepEqual(await active('TernNoControllerLeader'), [], 'no alert while a controller leads');

        // A stuck transaction: reads of the lease go on, writes (renewal, takeover) wait.
        await locker.query('begin');
        await locker.query('lock table leases in exclusive mode');
        const alert = await until(
          'TernNoControllerLeader in Alertmanager',
          12_000,
          async () => (await active('TernNoControllerLeader'))[0],
        );
        assert.equal(alert.value.labels.severity, 'critical');
        assert.match(alert.value.annotations.description ?? '', /last renewed the lease at .*releases are not being judged or moved/);
        await sleep(2000); // both servers have posted by now
        assert.equal((await active('TernNoControllerLeader')).length, 1, 'Alertmanager holds one alert for both servers');
        const query = run(AMTOOL, ['alert', 'query', `--alertmanager.url=${amUrl}`, 'alertname=TernNoControllerLeader']);
        assert.equal(query.status, 0, query.output);
        assert.match(query.output, /TernNoControllerLeader/);
        process.stdout.write(`# TernNoControllerLeader visible ${alert.ms} ms after the lease writes stuck (TTL 3 s + margin 5 s)\n`);

        await locker.query('commit');
        await until('a leader again', 10_000, holder);
        const resolved = await until('TernNoControllerLeader resolved', 10_000, async () =>
          (await active('TernNoControllerLeader')).length === 0 ? true : undefined,
        );
        process.stdout.write(`# TernNoControllerLeader resolved ${resolved.ms} ms after the lock was released\n`);
      } finally {
        await locker.query('rollback').catch(() => undefined);
        await locker.end().catch(() => undefined);
        for (const s of servers) await s.proc.kill('SIGKILL');
        await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
        await admin.end();
      }
    },
  );
});
