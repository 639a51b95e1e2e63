/**
 * Rolling restart under load as real processes: two `tern server`s on one
 * PostgreSQL database and two standalone `tern gateway`s given both URLs, 300 requests a second
 * spread over the gateways by a client that behaves like an L4 load balancer with health checks
 * (test/support/balanced-load.ts: a refused connect goes to the other gateway; a request on a
 * kept-alive connection closed at that instant is retried once, RFC 9112 §9.3.1, and counted).
 * Every process in turn gets SIGTERM (it drains), its replacement starts on the same port, and
 * the next waits until it is ready (/readyz for a server, listening with a table for a gateway),
 * while a release with analysis on steps 10 → 30 → 60 → 100%.
 *
 * What must hold: not one failed request; the release ends promoted by its controller with each
 * step taken once, in order; the audit log lost nothing and holds nothing twice, and its export
 * verifies.
 *
 * Needs TERN_TEST_POSTGRES_URL (scripts/start-postgres.sh). Skipped without it, except in CI.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { verifyExportLines } from '../src/core/audit-chain.js';
import { rollingRestart } from './support/availability-scenarios.js';
import { killAll } from './support/processes.js';

const baseUrl = process.env.TERN_TEST_POSTGRES_URL;
const skip = baseUrl === undefined && process.env.CI === undefined ? 'TERN_TEST_POSTGRES_URL is not set' : false;
const RPS = 300;

describe('rolling restart of every Tern process under load', { skip, timeout: 120_000 }, () => {
  after(killAll);

  it('users see nothing; the release steps on to promotion; the audit log is whole', async () => {
    assert.ok(baseUrl, 'CI must provide TERN_TEST_POSTGRES_URL (scripts/start-postgres.sh)');
    const r = await rollingRestart({ baseUrl, rps: RPS, log: (line) => console.log(`rolling restart: ${line}`) });
    const s = r.stats;
    console.log(
      `rolling restart at ${RPS} rps: ${s.sent} requests, ${s.failed} failed, ${s.retried} retried, ${s.movedOn} moved on; ` +
        `p99 ${r.p99BeforeMs} ms before, ${r.p99DuringMs} ms during; release ${r.release.status}; audit ${r.audit.listed} events`,
    );
    assert.deepEqual(s.failures.slice(0, 5), []);
    assert.equal(s.failed, 0);
    assert.ok(s.sent > RPS * 20, `only ${s.sent} requests were sent`);
    for (const x of r.restarts) assert.equal(x.exit, 0, `${x.what} exited ${x.exit} on SIGTERM`);

    assert.equal(r.release.status, 'promoted', r.release.reason ?? '');
    // Continuous: started, each later step taken once by the controller, promoted once; nothing else.
    const moves = r.events.filter((e) => e.actor === 'system').map((e) => e.action);
    const expected = [...Array<string>(r.steps - 1).fill('release.advance'), 'release.promote', 'release.promoted'];
    // `release.waiting` / `release.applied` say when the data planes confirmed a step's weight: notes, not moves.
    const notes = new Set(['release.start', 'release.waiting', 'release.applied']);
    assert.deepEqual(
      moves.filter((a) => !notes.has(a)),
      expected,
      r.events.map((e) => `${e.action} ${e.reason ?? ''}`).join('\n'),
    );

    assert.equal(r.audit.distinct, r.audit.listed, 'an audit event is listed twice');
    const verified = verifyExportLines(r.audit.exportText.split('\n'));
    assert.ok(verified.count >= r.audit.listed, `the export holds ${verified.count} events of ${r.audit.listed}`);
  });
});
