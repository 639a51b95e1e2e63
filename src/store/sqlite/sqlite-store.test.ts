/**
 * SqliteStore: the Store contract against a temp-file database, plus what only SQLite has —
 * migrations on reopen, WAL, the append-only triggers, the one-active index, busy handling,
 * and several real processes writing one file at once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { systemClock } from '../../core/types.js';
import { allAudit, runWriter } from '../../../test/fixtures/store-writer-run.js';
import { auditOf, createServiceWith, serviceInput, startRelease } from '../contract/fixtures.js';
import { rejectsWithCode } from '../contract/harness.js';
import { checkWindowSourceMigration } from '../contract/window-source-migration.js';
import type { Database } from '../kysely/schema.js';
import { MIGRATIONS } from '../migrations/index.js';
import { migrate } from '../migrations/migrate.js';
import { storePreBucketHashRelease } from '../contract/pre-bucket-hash.js';
import { storeContract } from '../store-contract.js';
import { openSqliteStore } from './sqlite-store.js';
import { sqliteDialect } from './sqlite-dialect.js';

storeContract('SqliteStore', async ({ clock }) => {
  const dir = await mkdtemp(join(tmpdir(), 'tern-store-'));
  const store = await openSqliteStore({ file: join(dir, 'tern.db'), clock });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteStore (SQLite only)', () => {
  let dir = '';
  let n = 0;
  const freshFile = (): string => join(dir, `db-${++n}.sqlite`);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tern-sqlite-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('applies each migration once; reopening applies only new ones', async () => {
    const file = freshFile();
    await (await openSqliteStore({ file })).close();
    const store = await openSqliteStore({ file });
    await createServiceWith(store, 'checkout');
    await store.close();

    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(file) }) });
    try {
      const versions = async (): Promise<number[]> =>
        (await db.selectFrom('schema_migrations').select('version').orderBy('version').execute()).map((r) => r.version);
      assert.deepEqual(
        await versions(),
        MIGRATIONS.map((m) => m.version),
      );
      const next = {
        version: (MIGRATIONS.at(-1)?.version ?? 0) + 1,
        name: 'test-extra',
        up: (k: Kysely<unknown>) => sql`create table extra (x integer)`.execute(k).then(() => undefined),
      };
      assert.deepEqual(await migrate(db, sqliteDialect, { clock: systemClock, migrations: [...MIGRATIONS, next] }), [next.version]);
      assert.deepEqual(await migrate(db, sqliteDialect, { clock: systemClock, migrations: [...MIGRATIONS, next] }), []);
      assert.equal((await db.selectFrom('services').select('name').execute()).length, 1, 'data survives migrations');
      await rejectsWithCode(migrate(db, sqliteDialect, { clock: systemClock }), 'TERN_STORE_UNAVAILABLE');
    } finally {
      await db.destroy();
    }
    await rejectsWithCode(openSqliteStore({ file }), 'TERN_STORE_UNAVAILABLE');
  });

  it('migration 8: a release stored before it keeps splitting users by murmur3; new releases use xxh32', async () => {
    const file = freshFile();
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(file) }) });
    let legacy;
    try {
      legacy = await storePreBucketHashRelease(db, sqliteDialect);
    } finally {
      await db.destroy();
    }
    const store = await openSqliteStore({ file });
    try {
      assert.deepEqual(await store.getRelease(legacy.id), legacy);
      assert.equal((await store.routingTable()).routes[0]?.canary?.bucketHash, 'murmur3');
      await createServiceWith(store, 'checkout');
      assert.equal((await startRelease(store, 'checkout')).bucketHash, 'xxh32');
    } finally {
      await store.close();
    }
  });

  it('migration 10 keeps the evidence stored before it: old windows count once, new sources add to them', async () => {
    const database = new BetterSqlite3(freshFile());
    database.pragma('foreign_keys = ON');
    await checkWindowSourceMigration(new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), sqliteDialect);
  });

  it('runs in WAL mode; an in-memory database works too', async () => {
    const file = freshFile();
    await (await openSqliteStore({ file })).close();
    const raw = new BetterSqlite3(file);
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      raw.close();
    }
    const memory = await openSqliteStore({ file: ':memory:' });
    await createServiceWith(memory, 'checkout');
    assert.equal((await memory.listServices()).length, 1);
    await memory.close();
  });

  it('the database rejects UPDATE and DELETE of audit events, and a second active release', async () => {
    const file = freshFile();
    const store = await openSqliteStore({ file });
    await createServiceWith(store, 'checkout');
    const release = await startRelease(store, 'checkout');
    await store.close();
    const raw = new BetterSqlite3(file);
    try {
      assert.throws(() => raw.prepare("update audit_events set actor = 'mallory'").run(), /append-only/);
      assert.throws(() => raw.prepare('delete from audit_events').run(), /append-only/);
      assert.equal((raw.prepare('select count(*) n from audit_events').get() as { n: number }).n, 2);
      // Retention (migration 6): once the export mark passes an event, and only then, it may be deleted.
      raw.prepare("update meta set value = '1' where key = 'audit_exported_through'").run();
      assert.equal(raw.prepare('delete from audit_events where id = 1').run().changes, 1);
      assert.throws(() => raw.prepare('delete from audit_events where id = 2').run(), /append-only/);
      const columns = Object.keys(raw.prepare('select * from releases').get() as object);
      const copy = `insert into releases (${columns.join(', ')}) select ${columns.map((c) => (c === 'id' ? "'other'" : c)).join(', ')} from releases`;
      assert.throws(
        () => raw.prepare(copy).run(),
        (err: { code?: string }) => err.code === 'SQLITE_CONSTRAINT_UNIQUE',
      );
      assert.ok(release.id);
    } finally {
      raw.close();
    }
  });

  it('a write started before close is on disk after reopening', async () => {
    const file = freshFile();
    const store = await openSqliteStore({ file });
    const pending = store.createService(serviceInput('checkout'), auditOf('service.create', 'service/checkout'));
    await store.close();
    await pending;
    const reopened = await openSqliteStore({ file });
    assert.equal((await reopened.getService('checkout'))?.name, 'checkout');
    assert.equal((await reopened.listAudit({})).length, 1);
    await reopened.close();
  });

  it('a write lock held too long elsewhere becomes TERN_STORE_UNAVAILABLE and writes nothing', async () => {
    const file = freshFile();
    const store = await openSqliteStore({ file, busyTimeoutMs: 50 });
    const other = new BetterSqlite3(file);
    try {
      other.exec('begin immediate');
      const error = await rejectsWithCode(
        store.createService(serviceInput('checkout'), auditOf('service.create', 'service/checkout')),
        'TERN_STORE_UNAVAILABLE',
      );
      assert.equal((error.cause as { code?: string }).code, 'SQLITE_BUSY');
      other.exec('rollback');
      assert.deepEqual(await store.listServices(), []);
      await createServiceWith(store, 'checkout');
      assert.equal((await store.listAudit({})).length, 1, 'the store works again once the lock is free');
    } finally {
      other.close();
      await store.close();
    }
  });

  it('three processes writing one file at once: every write lands, each with exactly its audit event', { timeout: 30_000 }, async () => {
    const file = freshFile();
    const count = 30;
    const prefixes = ['a', 'b', 'c'];
    // The children also race to create and migrate the fresh file.
    const runs = await Promise.all(prefixes.map((p) => runWriter(['concurrent', file, p, String(count)], { timeoutMs: 25_000 })));
    for (const run of runs) assert.deepEqual([run.code, run.lines.at(-1)], [0, 'done'], run.stderr);

    const store = await openSqliteStore({ file });
    try {
      const services = await store.listServices();
      assert.equal(services.length, prefixes.length * count);
      for (const s of services) assert.equal(s.rules.length, 2, `${s.name} has both updates`);
      const events = await allAudit(store);
      const perTarget = new Map<string, string[]>();
      for (const e of events) perTarget.set(e.target, [...(perTarget.get(e.target) ?? []), e.action]);
      for (const s of services)
        assert.deepEqual(perTarget.get(`service/${s.name}`), ['service.create', 'service.update', 'service.update']);
      assert.equal(perTarget.size, services.length);
      assert.equal((await store.routingTable()).version, events.length, 'one routing bump per audited change');
    } finally {
      await store.close();
    }
  });
});
