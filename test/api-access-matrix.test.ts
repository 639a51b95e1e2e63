/**
 * The route × role matrix, generated from the routes the app actually registered (its route
 * catalog): every route is tried with no token, a bad token and each role's token. Protected
 * routes answer 401 without a valid token, 403 to roles without access, and neither to roles
 * with access; every refused mutating request leaves a `denied` audit event.
 */
import assert from 'node:assert/strict';
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../src/api/app.js';
import { type CatalogEntry, routeCatalog } from '../src/api/route-catalog.js';
import { ACCESS_LEVELS, type Access } from '../src/api/route-config.js';
import { ROLES, type Role } from '../src/core/types.js';
import { type Harness, startHarness } from './api-harness.js';

/**
 * The intended policy of every route. A route missing here fails the test, so adding a route
 * forces a decision about who may call it.
 */
const POLICY: Readonly<Record<string, Access>> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'metrics',
  'GET /api/v1/openapi.json': 'public',
  'POST /api/v1/services': 'admin',
  'GET /api/v1/services': 'read',
  'GET /api/v1/services/:name': 'read',
  'PATCH /api/v1/services/:name': 'admin',
  'DELETE /api/v1/services/:name': 'admin',
  'POST /api/v1/services/:name/releases': 'release',
  'GET /api/v1/services/:name/releases': 'read',
  'GET /api/v1/releases/:id': 'read',
  'POST /api/v1/releases/:id/promote': 'release',
  'POST /api/v1/releases/:id/rollback': 'release',
  'POST /api/v1/releases/:id/pause': 'release',
  'POST /api/v1/releases/:id/resume': 'release',
  'PUT /api/v1/releases/:id/weight': 'release',
  'GET /api/v1/releases/:id/metrics': 'read',
  'GET /api/v1/releases/:id/analysis': 'read',
  'GET /api/v1/releases/:id/events': 'read',
  'POST /api/v1/releases/:id/replay': 'read',
  'GET /api/v1/releases/:id/logs': 'read',
  'GET /api/v1/release-defaults': 'read',
  'POST /api/v1/services/:name/feedback': 'feedback',
  'GET /api/v1/audit': 'read',
  'GET /api/v1/audit/export': 'admin',
  'GET /api/v1/events': 'read',
  'GET /api/v1/dataplane/routing': 'dataplane',
  'POST /api/v1/dataplane/metrics': 'dataplane',
  'POST /api/v1/dataplane/status': 'dataplane',
  'GET /api/v1/dataplanes': 'read',
  'POST /api/v1/tokens': 'admin',
  'GET /api/v1/tokens': 'admin',
  'DELETE /api/v1/tokens/:id': 'admin',
  // dashboard: the caller's own role, and the static web app
  'GET /api/v1/whoami': 'read',
  'GET /': 'public',
  'GET /*': 'public',
};

/** Who may use each access level, written out independently of the app's own RBAC table. */
const ALLOWED: Readonly<Record<Exclude<Access, 'public'>, readonly Role[]>> = {
  read: ['viewer', 'deployer', 'admin'],
  release: ['deployer', 'admin'],
  admin: ['admin'],
  dataplane: ['gateway', 'admin'],
  feedback: ['feedback', 'deployer', 'admin'],
  metrics: ['viewer', 'deployer', 'admin', 'gateway'],
};

type Caller = 'none' | 'bad' | Role;
const CALLERS: readonly Caller[] = ['none', 'bad', ...ROLES];

describe('route × role matrix', () => {
  let h: Harness;
  let entries: readonly CatalogEntry[];
  let baseUrl: string;

  before(async () => {
    // Bad-token requests from one address would otherwise trip the failed-auth limit.
    h = await startHarness({ authFailureLimit: { max: 1_000_000, windowMs: 60_000 } });
    entries = routeCatalog(h.app).entries;
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });
  after(() => h.close());

  it('covers every registered route, each with a valid access policy matching the intended one', () => {
    assert.ok(entries.length >= Object.keys(POLICY).length, `only ${entries.length} routes registered`);
    for (const e of entries) {
      assert.ok(ACCESS_LEVELS.includes(e.access), `${e.method} ${e.url} has no access policy`);
      assert.equal(
        e.access,
        POLICY[`${e.method} ${e.url}`],
        `${e.method} ${e.url}: access ${e.access} differs from the intended policy (or the route is new: add it to POLICY)`,
      );
      if (e.method !== 'GET') assert.ok(e.audit, `${e.method} ${e.url} mutates but names no audit action`);
    }
    const registered = new Set(entries.map((e) => `${e.method} ${e.url}`));
    for (const key of Object.keys(POLICY)) assert.ok(registered.has(key), `${key} is in the policy but not registered`);
  });

  it('refuses to register a route without an access policy', async () => {
    const fresh = await buildApp({ store: h.store, logger: false });
    try {
      assert.throws(() => fresh.get('/api/v1/unguarded', () => 'open'), /no access policy/);
      assert.doesNotThrow(() => fresh.get('/api/v1/guarded', { config: { access: 'admin' } }, () => 'closed'));
    } finally {
      await fresh.close();
    }
  });

  it('answers 401 / 403 / allowed exactly as the roles say, and audits each denied change', async () => {
    const secrets: Record<Caller, string | null> = { none: null, bad: 'tern_not-a-real-token', ...h.tokens };
    const failures: string[] = [];
    for (const entry of entries) {
      for (const caller of CALLERS) {
        const status = await statusFor(entry, secrets[caller]);
        const expected = expectation(entry.access, caller);
        const label = `${entry.method} ${entry.url} as ${caller}: got ${status}, expected ${expected}`;
        if (expected === 'allowed' ? status === 401 || status === 403 : status !== expected) failures.push(label);
        if (expected !== 'allowed' && entry.method !== 'GET') {
          const [event] = await h.store.listAudit({ limit: 1 });
          const actor = caller === 'none' || caller === 'bad' ? 'anonymous' : `token:${caller}-1`;
          if (event?.outcome !== 'denied' || event.action !== entry.audit?.action || event.actor !== actor) {
            failures.push(`${label}: no denied audit event (newest: ${JSON.stringify(event)})`);
          }
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  function expectation(access: Access, caller: Caller): 401 | 403 | 'allowed' {
    if (access === 'public') return 'allowed';
    if (caller === 'none' || caller === 'bad') return 401;
    return ALLOWED[access].includes(caller) ? 'allowed' : 403;
  }

  async function statusFor(entry: CatalogEntry, secret: string | null): Promise<number> {
    // Ids that do not exist: an allowed mutation then answers 404/400 and changes nothing.
    const url = entry.url.replace(':name', 'no-such-service').replace(':id', 'no-such-id');
    if (entry.stream) return streamStatus(url, secret);
    const res = await h.call(entry.method, url, { token: secret, ...(entry.method === 'GET' ? {} : { body: {} }) });
    return res.statusCode;
  }

  /** Long-lived streams are opened on a real socket and closed once the status line arrives. */
  function streamStatus(url: string, secret: string | null): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = get(`${baseUrl}${url}`, { headers: secret ? { authorization: `Bearer ${secret}` } : {} }, (res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
  }
});
