/**
 * Two `tern server` processes sharing one PostgreSQL database (`--store` via TERN_STORE_URL):
 * what one is told, the other serves and routes; one controller leads; when the leader is
 * SIGKILLed, the other takes the lease and drives the next release to promotion.
 *
 * Needs TERN_TEST_POSTGRES_URL (scripts/start-postgres.sh prints one; a role that may create
 * databases). Skipped without it, except in CI, where a test that needs a service must run.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { killAll, startTernServer, startVersionApp, type TernServer } from './support/processes.js';

const baseUrl = process.env.TERN_TEST_POSTGRES_URL;
const skip = baseUrl === undefined && process.env.CI === undefined ? 'TERN_TEST_POSTGRES_URL is not set' : false;

interface ReleaseJson {
  id: string;
  status: string;
  reason: string | null;
}

async function api<T>(server: TernServer, method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.apiUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return (text === '' ? null : JSON.parse(text)) as T;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function served(gatewayUrl: string): Promise<string> {
  const res = await fetch(gatewayUrl, { headers: { 'x-user-id': 'u1' } });
  return (await res.text()).trim();
}

describe('several tern servers on one PostgreSQL database', { skip, timeout: 120_000 }, () => {
  const dbName = `tern_e2e_${process.pid}_${randomBytes(4).toString('hex')}`;
  let dbUrl: string;
  const dirs: string[] = [];
  let a: TernServer;
  let b: TernServer;
  let apps: { v1: string; v2: string };

  async function leaseHolder(): Promise<string | undefined> {
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
  }

  async function releaseUntilEnd(via: TernServer, version: string, endpoint: string): Promise<ReleaseJson> {
    const started = await api<ReleaseJson>(via, 'POST', '/api/v1/services/shop/releases', {
      version,
      endpoints: [endpoint],
      steps: [{ weight: 50, hold: '2s', analysis: false }, { weight: 100 }],
    });
    return eventually(`release ${version} to end`, async () => {
      const r = await api<ReleaseJson>(via, 'GET', `/api/v1/releases/${started.id}`);
      return ['promoted', 'rolled_back', 'failed', 'paused'].includes(r.status) ? r : undefined;
    });
  }

  before(async () => {
    assert.ok(baseUrl, 'CI must provide TERN_TEST_POSTGRES_URL (scripts/start-postgres.sh)');
    const admin = new Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const url = new URL(baseUrl);
    url.pathname = `/${dbName}`;
    dbUrl = url.toString();
    const [v1, v2] = await Promise.all([startVersionApp('v1'), startVersionApp('v2')]);
    apps = { v1: v1.url, v2: v2.url };
    const env = {
      TERN_STORE_URL: dbUrl,
      TERN_ADMIN_TOKEN: randomBytes(24).toString('base64url'),
      TERN_WEBHOOK_SECRET: randomBytes(24).toString('hex'),
    };
    for (let i = 0; i < 2; i++) dirs.push(await mkdtemp(path.join(tmpdir(), `tern-pg-${i}-`)));
    // A starts first and takes the controller lease before B exists.
    a = await startTernServer(dirs[0]!, env);
    await eventually('server A to lead', async () => ((await leaseHolder()) === `controller-${a.proc.child.pid}` ? true : undefined));
    b = await startTernServer(dirs[1]!, env);
  });

  after(async () => {
    await killAll();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    if (baseUrl === undefined) return;
    const admin = new Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  });

  it('serves and routes on one server what was configured on the other', async () => {
    await api(a, 'POST', '/api/v1/services', {
      name: 'shop',
      match: { pathPrefix: '/' },
      stickiness: { header: 'x-user-id' },
      stable: { version: 'v1', endpoints: [apps.v1] },
    });
    const seen = await api<{ name: string; stable: { version: string } }>(b, 'GET', '/api/v1/services/shop');
    assert.equal(seen.stable.version, 'v1');
    const { tokens } = await api<{ tokens: Array<{ name: string; role: string; revokedAt: string | null }> }>(b, 'GET', '/api/v1/tokens');
    const gatewayNames = tokens.filter((t) => t.role === 'gateway' && t.revokedAt === null).map((t) => t.name);
    assert.equal(new Set(gatewayNames).size, 2, `each embedded gateway has a token name of its own: ${gatewayNames.join(', ')}`);
    assert.equal(
      await eventually("B's gateway to route shop", async () => ((await served(b.gatewayUrl)) === 'v1' ? 'v1' : undefined)),
      'v1',
    );
  });

  it('lets the leading controller promote a release started through the other server', async () => {
    const done = await releaseUntilEnd(b, 'v2', apps.v2);
    assert.equal(done.status, 'promoted', done.reason ?? '');
    assert.equal(
      await eventually('both gateways to serve v2', async () =>
        (await served(a.gatewayUrl)) === 'v2' && (await served(b.gatewayUrl)) === 'v2' ? 'v2' : undefined,
      ),
      'v2',
    );
    assert.equal(await leaseHolder(), `controller-${a.proc.child.pid}`, 'A still leads');
  });

  it('fails over: with the leader SIGKILLed, the other server takes the lease and promotes the next release', async () => {
    await a.proc.kill('SIGKILL');
    const done = await releaseUntilEnd(b, 'v3', apps.v1);
    assert.equal(done.status, 'promoted', done.reason ?? '');
    assert.equal(await leaseHolder(), `controller-${b.proc.child.pid}`);
    assert.equal(
      await eventually("B's gateway to serve v3 (the v1 app)", async () => ((await served(b.gatewayUrl)) === 'v1' ? 'v1' : undefined)),
      'v1',
    );
  });
});
