/**
 * Failover as real processes: two `tern server`s sharing one PostgreSQL database
 * (`--lease-ttl 6s`) and one `tern gateway` given both URLs. The leader is SIGKILLed; a weight
 * change made through the survivor reaches the gateway within seconds, and the survivor's
 * controller takes the lease within the lease length.
 *
 * Needs TERN_TEST_POSTGRES_URL (scripts/start-postgres.sh prints one; a role that may create
 * databases). Skipped without it, except in CI, where a test that needs a service must run.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { BIN, cleanEnv, killAll, startNode, startVersionApp, type Proc } from './support/processes.js';

const baseUrl = process.env.TERN_TEST_POSTGRES_URL;
const skip = baseUrl === undefined && process.env.CI === undefined ? 'TERN_TEST_POSTGRES_URL is not set' : false;
const LEASE_MS = 6_000;

interface Server {
  proc: Proc;
  apiUrl: string;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The share of 200 users the gateway sends to v2. */
async function canaryShare(url: string): Promise<number> {
  const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
  const seen = await Promise.all(users.map(async (u) => (await (await fetch(url, { headers: { 'x-user-id': u } })).text()).trim()));
  return seen.filter((v) => v === 'v2').length / users.length;
}

describe('failover: a gateway following two servers on one PostgreSQL', { skip, timeout: 120_000 }, () => {
  const dbName = `tern_failover_${process.pid}_${randomBytes(4).toString('hex')}`;
  const dirs: string[] = [];
  const adminToken = randomBytes(24).toString('base64url');

  after(async () => {
    await killAll();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    if (baseUrl === undefined) return;
    const admin = new Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  });

  it('routes by a weight changed through the second server after the first was SIGKILLed; the lease moves within its length', async () => {
    assert.ok(baseUrl, 'CI must provide TERN_TEST_POSTGRES_URL (scripts/start-postgres.sh)');
    const admin = new Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const dbUrl = Object.assign(new URL(baseUrl), { pathname: `/${dbName}` }).toString();
    const leaseHolder = async (): Promise<string | undefined> => {
      const client = new Client({ connectionString: dbUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ holder: string }>(
          `select holder from leases where name = 'release-controller' and expires_at > $1`,
          [Date.now()],
        );
        return rows[0]?.holder;
      } finally {
        await client.end();
      }
    };
    const env = cleanEnv({ TERN_STORE_URL: dbUrl, TERN_ADMIN_TOKEN: adminToken, TERN_WEBHOOK_SECRET: randomBytes(24).toString('hex') });
    const startServer = async (): Promise<Server> => {
      const dir = await mkdtemp(path.join(tmpdir(), 'tern-failover-'));
      dirs.push(dir);
      const proc = startNode(
        [
          BIN,
          'server',
          '--data-dir',
          dir,
          '--api-port',
          '0',
          '--gateway-port',
          '0',
          '--lease-ttl',
          `${LEASE_MS / 1000}s`,
          '--log-level',
          'warn',
        ],
        env,
      );
      const [, apiUrl] = await proc.waitFor(/Tern API listening on (\S+)/);
      return { proc, apiUrl: apiUrl! };
    };
    const api = async <T>(server: Server, method: string, url: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${server.apiUrl}${url}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      assert.ok(res.status < 300, `${method} ${url}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    };

    const a = await startServer();
    await eventually('server A to lead', async () => ((await leaseHolder()) === `controller-${a.proc.child.pid}` ? true : undefined));
    const b = await startServer();
    const [v1, v2] = await Promise.all([startVersionApp('v1'), startVersionApp('v2')]);
    await api(a, 'POST', '/api/v1/services', {
      name: 'shop',
      match: { pathPrefix: '/' },
      stickiness: { header: 'x-user-id' },
      stable: { version: 'v1', endpoints: [v1.url] },
    });
    const release = await api<{ id: string }>(a, 'POST', '/api/v1/services/shop/releases', {
      version: 'v2',
      endpoints: [v2.url],
      steps: [{ weight: 20, hold: '1h', analysis: false }, { weight: 100 }],
    });
    const { secret } = await api<{ secret: string }>(a, 'POST', '/api/v1/tokens', { name: 'edge', role: 'gateway' });
    const edge = startNode(
      [
        BIN,
        'gateway',
        '--control-plane',
        a.apiUrl,
        '--control-plane',
        b.apiUrl,
        '--port',
        '0',
        '--state-file',
        path.join(dirs[0]!, 'edge.json'),
        '--log-level',
        'warn',
      ],
      cleanEnv({ TERN_TOKEN: secret }),
    );
    const [, edgeUrl] = await edge.waitFor(/Tern gateway listening on (\S+)/);
    const before = await eventually('the gateway to route 20%', async () => {
      const share = await canaryShare(edgeUrl!);
      return share > 0.1 && share < 0.3 ? share : undefined;
    });

    const killedAt = Date.now();
    await a.proc.kill('SIGKILL');
    await api(b, 'PUT', `/api/v1/releases/${release.id}/weight`, { weight: 70 });
    const changedAt = Date.now();
    const afterShare = await eventually(
      'the gateway to route by the new weight',
      async () => {
        const share = await canaryShare(edgeUrl!);
        return share > 0.55 && share < 0.85 ? share : undefined;
      },
      15_000,
    );
    const reachedMs = Date.now() - changedAt;
    const holder = await eventually(
      'server B to take the lease',
      async () => ((await leaseHolder()) === `controller-${b.proc.child.pid}` ? true : undefined),
      20_000,
    );
    const takeoverMs = Date.now() - killedAt;
    console.log(
      `failover: share ${before} -> ${afterShare}; weight change reached the gateway in ${reachedMs} ms; lease taken ${takeoverMs} ms after the kill (lease ${LEASE_MS} ms)`,
    );
    assert.ok(holder);
    assert.ok(reachedMs < 5_000, `the weight change took ${reachedMs} ms to reach the gateway`);
    // The dead leader renewed its lease at most a tick before the kill: it expires 5-6 s later, not sooner.
    assert.ok(takeoverMs >= LEASE_MS - 1_000 && takeoverMs <= LEASE_MS + 2_000, `takeover took ${takeoverMs} ms`);
  });
});
