/**
 * PostgresStore: the Store contract against a real PostgreSQL server, plus what only it has —
 * several stores (controllers) on one database hearing each other over LISTEN/NOTIFY, racing
 * across processes' connections, migrating once when opened together, the append-only audit
 * trigger, lock timeouts and lost connections.
 *
 * Needs TERN_TEST_POSTGRES_URL (scripts/start-postgres.sh prints one), a role that may create
 * databases. The file creates one throwaway database, gives every store a fresh schema in it
 * and drops the database at the end. Without the variable the tests are skipped, except in CI
 * (CI set), where a test that needs a service must run: there they fail.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { Kysely, PostgresDialect } from 'kysely';
import { Client, Pool } from 'pg';
import { transition } from '../../core/release-state.js';
import type { Clock } from '../../core/types.js';
import { auditCount, auditOf, createServiceWith, moveRelease, serviceInput, startRelease } from '../contract/fixtures.js';
import { assertCode, rejectsWithCode } from '../contract/harness.js';
import { storePreBucketHashRelease } from '../contract/pre-bucket-hash.js';
import { checkWindowSourceMigration } from '../contract/window-source-migration.js';
import type { Database } from '../kysely/schema.js';
import { MIGRATIONS } from '../migrations/index.js';
import type { Store, StoreChange } from '../store.js';
import { storeContract } from '../store-contract.js';
import { postgresDialect } from './postgres-dialect.js';
import { openPostgresStore } from './postgres-store.js';
import type { PostgresStoreOptions } from './postgres-store.js';

const URL_VARIABLE = 'TERN_TEST_POSTGRES_URL';
const baseUrl = process.env[URL_VARIABLE];

/** Polls `check` every 20 ms until it holds; fails after `timeoutMs`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** One throwaway database for the whole file; a fresh schema in it per store. */
function testDatabase(url: string) {
  const name = `tern_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const dbUrl = new URL(url);
  dbUrl.pathname = `/${name}`;
  let admin: Promise<Pool> | undefined;
  let schemas = 0;

  async function adminPool(): Promise<Pool> {
    admin ??= (async () => {
      const server = new Client({ connectionString: url });
      await server.connect();
      try {
        await server.query(`create database ${name}`);
      } finally {
        await server.end();
      }
      return new Pool({ connectionString: dbUrl.toString(), max: 2 });
    })();
    return admin;
  }

  return {
    /** A new empty schema and the URL of a connection that works in it. */
    async schema(params: Record<string, string> = {}): Promise<{ schema: string; url: string }> {
      const schema = `s${++schemas}`;
      await (await adminPool()).query(`create schema ${schema}`);
      return { schema, url: this.url(schema, params) };
    },
    url(schema: string, params: Record<string, string> = {}): string {
      const u = new URL(dbUrl);
      u.searchParams.set('options', `-c search_path=${schema}`);
      for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
      return u.toString();
    },
    async query<R extends object = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<R[]> {
      return (await (await adminPool()).query<R>(text, values)).rows;
    },
    async dropSchema(schema: string): Promise<void> {
      await (await adminPool()).query(`drop schema ${schema} cascade`);
    },
    async drop(): Promise<void> {
      if (!admin) return;
      await (await admin).end();
      const server = new Client({ connectionString: url });
      await server.connect();
      try {
        await server.query(`drop database if exists ${name} with (force)`);
      } finally {
        await server.end();
      }
    },
  };
}

if (baseUrl === undefined || baseUrl === '') {
  const message = `${URL_VARIABLE} is not set (e.g. postgres://tern:tern@127.0.0.1:5432/postgres; scripts/start-postgres.sh starts a server and prints one)`;
  if (process.env['CI']) {
    describe('PostgresStore', () => {
      it('runs against a PostgreSQL server in CI', () => assert.fail(`${message}; in CI the PostgreSQL store tests must run, not skip`));
    });
  } else {
    describe('PostgresStore', () => {
      it('runs against a PostgreSQL server', { skip: message }, () => undefined);
    });
  }
} else {
  const db = testDatabase(baseUrl);
  after(() => db.drop());

  storeContract('PostgresStore', async ({ clock }) => {
    const { schema, url } = await db.schema();
    const store = await openPostgresStore({ connectionString: url, clock });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await db.dropSchema(schema);
      },
    };
  });

  describe('PostgresStore (PostgreSQL only)', () => {
    /** Opens stores in one fresh schema; all are closed (and the schema dropped) by `close`. */
    async function shared(params: Record<string, string> = {}) {
      const { schema, url } = await db.schema(params);
      const stores: Store[] = [];
      return {
        schema,
        url,
        async open(options: Partial<PostgresStoreOptions> & { clock?: Clock } = {}): Promise<Store> {
          const store = await openPostgresStore({ connectionString: url, poolSize: 3, ...options });
          stores.push(store);
          return store;
        },
        async close(): Promise<void> {
          await Promise.all(stores.map((s) => s.close()));
          await db.dropSchema(schema);
        },
      };
    }

    it('a change made through one store reaches the subscribers of another, once, in commit order', async () => {
      const one = await shared();
      const other = await shared(); // another installation in the same database
      try {
        const a = await one.open();
        const b = await one.open();
        const elsewhere = await other.open();
        const neighbour = await other.open();
        const heard = { a: [] as StoreChange[], b: [] as StoreChange[], elsewhere: [] as StoreChange[] };
        a.subscribe((c) => heard.a.push(c));
        b.subscribe((c) => heard.b.push(c));
        elsewhere.subscribe((c) => heard.elsewhere.push(c));

        await createServiceWith(a, 'checkout');
        const release = await startRelease(a, 'checkout');
        await moveRelease(a, release.id, 'progressing');
        await assert.rejects(
          a.updateRelease(release.id, (r) => transition(r, 'promoted', Date.now()), auditOf('release.promoted', `release/${release.id}`)),
        );
        await a.createToken({ id: 't1', name: 'ci', role: 'deployer', secretHash: 'h1' }, auditOf('token.create', 'token/t1'));
        assert.equal(heard.a.length, 4, 'a heard its own changes as it made them');
        await waitFor('b to hear what a changed', () => heard.b.length >= 4);
        assert.deepEqual(heard.b, heard.a, 'the same changes, audit events and routing versions, in the same order');

        await createServiceWith(b, 'payments');
        await waitFor('a to hear what b changed', () => heard.a.length >= 5);
        assert.deepEqual(heard.a, heard.b);
        assert.equal(heard.b.filter((c) => c.id === 'payments').length, 1, 'b heard its own change once');

        // Notifications arrive in commit order: once the neighbour's change is heard, any of the
        // other schema's would have been too.
        await createServiceWith(neighbour, 'search');
        await waitFor('the other installation to hear its own neighbour', () => heard.elsewhere.length >= 1);
        assert.deepEqual(
          heard.elsewhere.map((c) => c.id),
          ['search'],
          'stores in another schema hear only their own installation',
        );
      } finally {
        await one.close();
        await other.close();
      }
    });

    it('concurrent createRelease through two stores: exactly one wins', async () => {
      const s = await shared();
      try {
        const [a, b] = [await s.open(), await s.open()];
        await createServiceWith(a, 'checkout');
        const attempts = ['v2', 'v3', 'v4', 'v5'].map((version, i) => startRelease(i % 2 ? b : a, 'checkout', { version }));
        const results = await Promise.allSettled(attempts);
        const won = results.filter((r) => r.status === 'fulfilled');
        assert.equal(won.length, 1);
        for (const r of results) if (r.status === 'rejected') assertCode(r.reason, 'TERN_RELEASE_ACTIVE');
        assert.equal((await b.listReleases({ service: 'checkout', active: true })).length, 1);
        assert.equal(await auditCount(a, { action: 'release.create' }), 1);
      } finally {
        await s.close();
      }
    });

    it('racing promotions and service changes through two stores lose no update', async () => {
      const s = await shared();
      try {
        const [a, b] = [await s.open(), await s.open()];
        // A race: a few rounds make a lost update (without the service row lock) all but certain to show.
        for (const name of ['checkout', 'payments', 'search']) {
          await createServiceWith(a, name);
          const release = await moveRelease(a, (await startRelease(a, name)).id, 'progressing', 'promoting');
          const promote = (store: Store) =>
            store.updateRelease(
              release.id,
              (r) => transition(r, 'promoted', Date.now()),
              auditOf('release.promoted', `release/${release.id}`),
            );
          const rules = (store: Store, n: number) =>
            store.updateService(
              name,
              { rules: [{ header: 'x-n', equals: String(n), target: 'canary' }] },
              auditOf('service.update', `service/${name}`),
            );
          const results = await Promise.allSettled([rules(a, 1), promote(a), promote(b), rules(b, 2)]);
          assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3, 'one promotion and both rule changes');
          const service = await b.getService(name);
          assert.equal(service?.stable.version, 'v2', `${name}: the promotion is not lost to a concurrent service update`);
          assert.equal(await auditCount(a, { action: 'release.promoted', service: name }), 1);
        }
      } finally {
        await s.close();
      }
    });

    it('migration 10 keeps the evidence stored before it: old windows count once, new sources add to them', async () => {
      const { schema, url } = await db.schema();
      try {
        const pool = new Pool({ connectionString: url, max: 2 });
        await checkWindowSourceMigration(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), postgresDialect);
      } finally {
        await db.dropSchema(schema);
      }
    });

    it('stores opened at once on a fresh schema apply each migration exactly once', async () => {
      const s = await shared();
      try {
        const stores = await Promise.all([1, 2, 3, 4].map(() => s.open({ poolSize: 1 })));
        assert.equal(stores.length, 4);
        const rows = await db.query<{ version: number }>(`select version from ${s.schema}.schema_migrations order by version`);
        assert.deepEqual(
          rows.map((r) => r.version),
          MIGRATIONS.map((m) => m.version),
        );
        await createServiceWith(stores[3] as Store, 'checkout');
        assert.equal((await (stores[0] as Store).listServices()).length, 1);
      } finally {
        await s.close();
      }
    });

    it('migration 8: a release stored before it keeps splitting users by murmur3; new releases use xxh32', async () => {
      const s = await shared();
      try {
        const pool = new Pool({ connectionString: s.url, max: 1 });
        const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
        let legacy;
        try {
          legacy = await storePreBucketHashRelease(kysely, postgresDialect);
        } finally {
          await kysely.destroy();
        }
        const store = await s.open();
        assert.deepEqual(await store.getRelease(legacy.id), legacy);
        assert.equal((await store.routingTable()).routes[0]?.canary?.bucketHash, 'murmur3');
        await createServiceWith(store, 'checkout');
        assert.equal((await startRelease(store, 'checkout')).bucketHash, 'xxh32');
      } finally {
        await s.close();
      }
    });

    it('two controllers racing for the leader lease: exactly one holds it', async () => {
      const s = await shared();
      try {
        const [a, b] = [await s.open(), await s.open()];
        const won = await Promise.all([a.acquireLease('controller', 'a', 10_000), b.acquireLease('controller', 'b', 10_000)]);
        assert.equal(won.filter(Boolean).length, 1);
        const [leader, follower] = won[0] ? [a, b] : [b, a];
        const names = won[0] ? ['a', 'b'] : ['b', 'a'];
        assert.equal(await follower.acquireLease('controller', names[1] ?? '', 10_000), false);
        await leader.releaseLease('controller', names[0] ?? '');
        assert.equal(await follower.acquireLease('controller', names[1] ?? '', 10_000), true, 'the follower takes over once released');
      } finally {
        await s.close();
      }
    });

    it('the database rejects UPDATE, DELETE and TRUNCATE of audit events, and a second active release', async () => {
      const s = await shared();
      try {
        const store = await s.open();
        await createServiceWith(store, 'checkout');
        await startRelease(store, 'checkout');
        for (const statement of ["update audit_events set actor = 'mallory'", 'delete from audit_events', 'truncate audit_events']) {
          await assert.rejects(db.query(`set search_path = ${s.schema}; ${statement}`), /append-only/, statement);
        }
        assert.equal((await store.listAudit({})).length, 2);
        const copy = `insert into ${s.schema}.releases select 'other', service, 'v9', endpoints, baseline, status, step_index, weight, salt, steps,
          analysis, metadata, created_by, started_at, step_started_at, updated_at, ended_at, reason from ${s.schema}.releases`;
        await assert.rejects(db.query(copy), (err: { code?: string }) => err.code === '23505');
      } finally {
        await s.close();
      }
    });

    it('a write blocked past lock_timeout fails with TERN_STORE_UNAVAILABLE and writes nothing', async () => {
      const s = await shared({ lock_timeout: '200' }); // settings in the URL win over the store's defaults
      const holder = new Client({ connectionString: s.url });
      try {
        const store = await s.open();
        await createServiceWith(store, 'checkout');
        await holder.connect();
        await holder.query('begin');
        await holder.query("select * from services where name = 'checkout' for update");
        const error = await rejectsWithCode(
          store.updateService('checkout', { rules: [] }, auditOf('service.update', 'service/checkout')),
          'TERN_STORE_UNAVAILABLE',
        );
        assert.equal((error.cause as { code?: string }).code, '55P03');
        await holder.query('rollback');
        assert.equal((await store.getService('checkout'))?.rules.length, 1);
        assert.equal(await auditCount(store), 1);
      } finally {
        await holder.end().catch(() => undefined);
        await s.close();
      }
    });

    it('after its connections are killed a store works again and hears other stores again', { timeout: 30_000 }, async () => {
      const s = await shared();
      try {
        const a = await s.open();
        const url = new URL(s.url);
        url.searchParams.set('application_name', 'tern-victim');
        const b = await openPostgresStore({ connectionString: url.toString(), poolSize: 2 });
        const heard: string[] = [];
        b.subscribe((c) => heard.push(c.id));
        await b.listServices();
        const killed = await db.query<{ n: number }>(
          "select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = 'tern-victim'",
        );
        assert.ok((killed[0]?.n ?? 0) >= 2, 'the pooled and the listening connection were killed');

        // The first query may still pick a dead pooled connection: that one fails as unavailable.
        await waitFor(
          'b to query again',
          async () => {
            try {
              await b.listServices();
              return true;
            } catch (err) {
              assertCode(err, 'TERN_STORE_UNAVAILABLE');
              return false;
            }
          },
          10_000,
        );
        // Changes made while b's listener was down are not announced; keep making them until it is back.
        for (let n = 0; !heard.some((id) => id.startsWith('probe-')); n++) {
          assert.ok(n < 100, 'the change feed reconnected');
          await a.createService(serviceInput(`probe-${n}`), auditOf('service.create', `service/probe-${n}`));
          await sleep(100);
        }
        await b.close();
      } finally {
        await s.close();
      }
    });

    it('an unreachable server, a wrong password or a missing database is TERN_STORE_UNAVAILABLE without the password', async () => {
      const unreachable = new URL(baseUrl);
      unreachable.port = '1';
      unreachable.password = 'sekret-1';
      const wrongPassword = new URL(baseUrl);
      wrongPassword.password = 'sekret-2';
      const missing = new URL(baseUrl);
      missing.pathname = '/tern_no_such_database';
      for (const url of [unreachable, wrongPassword, missing]) {
        const error = await rejectsWithCode(
          openPostgresStore({ connectionString: url.toString(), connectTimeoutMs: 2000 }),
          'TERN_STORE_UNAVAILABLE',
        );
        assert.doesNotMatch(error.message, /sekret/);
        assert.match(error.message, /cannot open the PostgreSQL store/);
      }
      await rejectsWithCode(openPostgresStore({ connectionString: baseUrl, poolSize: 0 }), 'TERN_INVALID_REQUEST');
    });
  });
}
