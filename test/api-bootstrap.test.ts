/** The bootstrap admin token: generated once into a 0600 file, or taken from TERN_ADMIN_TOKEN. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { buildApp } from '../src/api/app.js';
import { ensureAdminToken } from '../src/api/bootstrap.js';
import type { Store } from '../src/store/store.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { TokenListJson } from './api-harness.js';

describe('ensureAdminToken', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tern-boot-'));
    store = await openSqliteStore({ file: ':memory:' });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('generates a working admin secret once, into a file only the owner can read', async () => {
    const dataDir = path.join(dir, 'data');
    const first = await ensureAdminToken(store, { dataDir });
    assert.equal(first.created, true);
    assert.equal(first.file, path.join(dataDir, 'admin.token'));
    assert.match(first.secret ?? '', /^tern_/);
    const file = first.file ?? assert.fail('no file');
    assert.equal((await readFile(file, 'utf8')).trim(), first.secret);
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    const app = await buildApp({ store, logger: false });
    const res = await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: { authorization: `Bearer ${first.secret}` } });
    await app.close();
    assert.equal(res.statusCode, 200);
    assert.deepEqual(
      res.json<TokenListJson>().tokens.map((t) => [t.name, t.role]),
      [['bootstrap-admin', 'admin']],
    );
    const [event] = await store.listAudit({ limit: 1 });
    assert.deepEqual([event?.actor, event?.action, event?.outcome], ['system', 'token.create', 'success']);

    assert.deepEqual(await ensureAdminToken(store, { dataDir }), { created: false, file: null, secret: null });
    assert.equal((await store.listTokens()).length, 1);
  });

  it('takes TERN_ADMIN_TOKEN when given, without echoing it, and only once', async () => {
    const envToken = 'an-operator-chosen-secret-of-some-length';
    assert.deepEqual(await ensureAdminToken(store, { dataDir: dir, envToken }), { created: true, file: null, secret: null });
    assert.deepEqual(await ensureAdminToken(store, { dataDir: dir, envToken }), { created: false, file: null, secret: null });
    const app = await buildApp({ store, logger: false });
    const res = await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: { authorization: `Bearer ${envToken}` } });
    await app.close();
    assert.equal(res.statusCode, 200);
    await assert.rejects(stat(path.join(dir, 'admin.token')), /ENOENT/);
  });

  it('refuses a short TERN_ADMIN_TOKEN', async () => {
    await assert.rejects(ensureAdminToken(store, { dataDir: dir, envToken: 'admin' }), /too short/);
    assert.equal((await store.listTokens()).length, 0);
  });
});
