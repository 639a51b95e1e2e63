/**
 * Leader SIGKILL under load as real processes: two `tern server`s on one
 * PostgreSQL database (`--lease-ttl 6s`) and two standalone `tern gateway`s given both URLs; a
 * release with analysis on (a healthy canary) is at its first step while 300 requests a second
 * go through the gateways (spread as an L4 balancer does: test/support/balanced-load.ts). The
 * leading server is SIGKILLed. Users reach the standalone gateways, not the servers' built-in
 * ones: the killed server's built-in gateway dies with it, which is why production puts
 * `tern gateway`s behind the balancer (docs/operations.md).
 *
 * What must hold: not one failed user request; the survivor holds the lease within the lease
 * plus 5 s; the release's next step is taken by the survivor's controller (the killed server
 * cannot) and the release ends promoted, by itself.
 *
 * Needs TERN_TEST_POSTGRES_URL (scripts/start-postgres.sh). Skipped without it, except in CI.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { leaderKill } from './support/availability-scenarios.js';
import { killAll } from './support/processes.js';

const baseUrl = process.env.TERN_TEST_POSTGRES_URL;
const skip = baseUrl === undefined && process.env.CI === undefined ? 'TERN_TEST_POSTGRES_URL is not set' : false;
const LEASE_MS = 6_000;
const RPS = 300;

describe('leader SIGKILL under load', { skip, timeout: 120_000 }, () => {
  after(killAll);

  it('users see nothing; the survivor takes the lease and carries the release to promotion', async () => {
    assert.ok(baseUrl, 'CI must provide TERN_TEST_POSTGRES_URL (scripts/start-postgres.sh)');
    const r = await leaderKill({ baseUrl, rps: RPS, leaseMs: LEASE_MS });
    const s = r.stats;
    console.log(
      `leader SIGKILL at ${RPS} rps: ${s.sent} requests, ${s.failed} failed, ${s.retried} retried, ${s.movedOn} moved on; ` +
        `lease taken ${r.takeoverMs} ms after the kill (lease ${LEASE_MS} ms); next controller move ${r.resumedMs} ms after; ` +
        `p99 ${r.p99BeforeMs} ms before, ${r.p99DuringMs} ms during; release ${r.release.status}`,
    );
    assert.deepEqual(s.failures.slice(0, 5), []);
    assert.equal(s.failed, 0);
    assert.ok(s.sent > RPS * 20, `only ${s.sent} requests were sent`);
    assert.ok((s.byVersion.get('v2') ?? 0) > 0 && (s.byVersion.get('v1') ?? 0) > 0, 'both versions answered');
    assert.ok(r.survivorHolds, 'the survivor holds the lease');
    assert.ok(r.takeoverMs <= LEASE_MS + 5_000, `takeover took ${r.takeoverMs} ms`);
    // The step's 10 s hold had ~6 s left at the kill: the survivor moves it once the hold and the lease are both over.
    assert.ok(r.resumedMs <= LEASE_MS + 5_000 + 4_000, `the release moved again ${r.resumedMs} ms after the kill`);
    assert.equal(r.release.status, 'promoted', r.release.reason ?? '');
    const moves = r.events.filter((e) => e.at > r.killedAt && e.actor === 'system').map((e) => e.action);
    assert.ok(
      moves.includes('release.advance') && moves.includes('release.promoted'),
      `controller moves after the kill: ${moves.join(', ')}`,
    );
  });
});
