/**
 * Crash durability of the SQLite store: a real writer process is SIGKILLed mid-write (three
 * times, on one file), and after each kill the reopened database must be intact, hold every
 * change the writer reported as committed, and pair every state change with its audit event
 * one to one — no change without its event, no event without its change.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { Release } from '../src/core/types.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { allAudit, runWriter } from './fixtures/store-writer-run.js';
import { CHURN_PATH } from './fixtures/store-writer-path.js';

const KILLS = 3;
const COMMITS_BEFORE_KILL = 200;
/** The audit actions a release has written once it reached each status, in order. */
const LIFECYCLE = ['release.create', ...CHURN_PATH.map((s) => `release.${s}`)];

function integrity(file: string): string {
  const raw = new BetterSqlite3(file, { readonly: true });
  try {
    return String(raw.pragma('integrity_check', { simple: true }));
  } finally {
    raw.close();
  }
}

/** Every line `<what> <name>` the writers printed names a change that must be in the store. */
async function assertReportedPresent(store: Store, lines: readonly string[]): Promise<void> {
  const releases = new Map((await store.listReleases({ limit: 1000 })).map((r) => [r.id, r]));
  const services = new Set((await store.listServices()).map((s) => s.name));
  for (const line of lines) {
    const [what, name = ''] = line.split(' ');
    if (what === 'service') {
      assert.ok(services.has(name), `reported service ${name} is missing`);
      continue;
    }
    const release = releases.get(name);
    assert.ok(release, `reported release ${name} is missing`);
    const reached = ['release', ...CHURN_PATH].indexOf(release.status === 'pending' ? 'release' : release.status);
    assert.ok(reached >= ['release', ...CHURN_PATH].indexOf(what ?? ''), `release ${name} reported ${what} but is ${release.status}`);
  }
}

/** State and audit log agree one to one, and the routing version counts exactly the audited changes. */
async function assertOneToOne(store: Store): Promise<number> {
  const events = await allAudit(store);
  const actions = new Map<string, string[]>();
  for (const e of events) actions.set(e.target, [...(actions.get(e.target) ?? []), e.action]);
  const services = await store.listServices();
  const releases: Release[] = await store.listReleases({ limit: 1000 });
  assert.ok(releases.length < 1000, 'the check sees every release');
  for (const s of services) assert.deepEqual(actions.get(`service/${s.name}`), ['service.create'], `audit of service ${s.name}`);
  for (const r of releases) {
    const reached = r.status === 'pending' ? 0 : CHURN_PATH.indexOf(r.status) + 1;
    assert.deepEqual(actions.get(`release/${r.id}`), LIFECYCLE.slice(0, reached + 1), `audit of release ${r.id} (${r.status})`);
    const stable = (await store.getService(r.service))?.stable.version;
    assert.equal(stable, r.status === 'promoted' ? r.version : 'v1', `stable version of ${r.service}`);
  }
  assert.equal(actions.size, services.length + releases.length, 'no audit event without its change');
  assert.equal((await store.routingTable()).version, events.length, 'one routing bump per audited change');
  return events.length;
}

describe('SQLite store durability under SIGKILL', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tern-durability-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(`keeps every committed change and its audit event across ${KILLS} kills`, { timeout: 30_000 }, async () => {
    const file = join(dir, 'tern.db');
    const reported: string[] = [];
    let audited = 0;
    for (let round = 1; round <= KILLS; round++) {
      const run = await runWriter(['churn', file, `k${round}`], { killAfterLines: COMMITS_BEFORE_KILL, timeoutMs: 8_000 });
      assert.equal(run.signal, 'SIGKILL', `round ${round}: the writer was killed while writing (stderr: ${run.stderr})`);
      assert.ok(run.lines.length >= COMMITS_BEFORE_KILL, `round ${round}: ${run.lines.length} commits reported`);
      reported.push(...run.lines);

      assert.equal(integrity(file), 'ok', `round ${round}: integrity_check`);
      const store = await openSqliteStore({ file });
      try {
        await assertReportedPresent(store, reported);
        const total = await assertOneToOne(store);
        assert.ok(
          total >= audited + run.lines.length,
          `round ${round}: ${total} audited changes after ${audited} + ${run.lines.length} reported`,
        );
        audited = total;
      } finally {
        await store.close();
      }
    }
  });
});
