/**
 * openStore: the URL picks the store; an unsupported URL is a coded error that never echoes
 * credentials. (The PostgreSQL dispatch is shown against a port nothing listens on, so this
 * file needs no server.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ValidationError } from '../core/errors.js';
import { createServiceWith } from './contract/fixtures.js';
import { rejectsWithCode } from './contract/harness.js';
import { openStore, parseStoreUrl } from './open-store.js';

describe('openStore', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tern-open-store-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses sqlite:PATH, plain paths and postgres URLs', () => {
    assert.deepEqual(parseStoreUrl('sqlite:./.tern/tern.db'), { kind: 'sqlite', file: './.tern/tern.db' });
    assert.deepEqual(parseStoreUrl('SQLite:/var/lib/tern.db'), { kind: 'sqlite', file: '/var/lib/tern.db' });
    assert.deepEqual(parseStoreUrl('sqlite::memory:'), { kind: 'sqlite', file: ':memory:' });
    assert.deepEqual(parseStoreUrl('/var/lib/tern/tern.db'), { kind: 'sqlite', file: '/var/lib/tern/tern.db' });
    assert.deepEqual(parseStoreUrl('tern.db'), { kind: 'sqlite', file: 'tern.db' });
    assert.deepEqual(parseStoreUrl('C:\\tern\\tern.db'), { kind: 'sqlite', file: 'C:\\tern\\tern.db' });
    for (const url of ['postgres://tern:pw@db:5432/tern', 'postgresql://db/tern?sslmode=require']) {
      assert.deepEqual(parseStoreUrl(url), { kind: 'postgres', connectionString: url });
    }
  });

  it('refuses an unknown scheme, an empty URL or an empty SQLite path with TERN_INVALID_REQUEST on field store', () => {
    for (const url of ['mysql://root:hunter2@db/tern', 'redis://db', '', '  ', 'sqlite:']) {
      assert.throws(
        () => parseStoreUrl(url),
        (err: unknown) => {
          assert.ok(err instanceof ValidationError);
          assert.equal(err.code, 'TERN_INVALID_REQUEST');
          assert.equal(err.field, 'store');
          assert.doesNotMatch(err.message, /hunter2/);
          assert.match(err.message, /accepted: sqlite:PATH/);
          return true;
        },
        url,
      );
    }
  });

  it('opens a SQLite store from sqlite:PATH and from a plain path', async () => {
    for (const url of [`sqlite:${join(dir, 'a.db')}`, join(dir, 'b.db')]) {
      const store = await openStore(url);
      try {
        await createServiceWith(store, 'checkout');
        assert.equal((await store.listServices()).length, 1);
      } finally {
        await store.close();
      }
    }
    assert.ok((await stat(join(dir, 'a.db'))).isFile());
    assert.ok((await stat(join(dir, 'b.db'))).isFile());
    await rejectsWithCode(openStore('mysql://db/tern'), 'TERN_INVALID_REQUEST');
  });

  it('a postgres:// URL opens a PostgreSQL store (unreachable here: TERN_STORE_UNAVAILABLE, password hidden)', async () => {
    const error = await rejectsWithCode(openStore('postgres://tern:hunter2@127.0.0.1:1/tern'), 'TERN_STORE_UNAVAILABLE');
    assert.match(error.message, /PostgreSQL/);
    assert.doesNotMatch(error.message, /hunter2/);
  });
});
