/**
 * Availability benchmark: the two scenarios of the e2e tests at a
 * higher, fixed rate (default 1,000 requests a second, loopback, bounded to ~85 s each), through
 * two standalone `tern gateway`s in front of two `tern server`s on one PostgreSQL database:
 *
 *   leader-kill   SIGKILL to the leading server mid-release (--lease-ttl 6s)
 *   rolling       SIGTERM + restart of every server, then every gateway, one at a time
 *
 * For each: requests sent, failed, retried (RFC 9112 §9.3.1) and moved on (refused connects),
 * p99 during the event vs before it, the takeover time, and how the release ended. Needs the
 * built CLI (`npx tsc -p tsconfig.json`) and a PostgreSQL URL whose role may create databases.
 * From the repo root:
 *   TERN_TEST_POSTGRES_URL="$(scripts/start-postgres.sh)" node --import tsx bench/availability/run.ts [--rps 1000] [--only leader-kill|rolling]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { leaderKill, rollingRestart, type ScenarioResult } from '../../test/support/availability-scenarios.js';
import { killAll } from '../../test/support/processes.js';

const { values } = parseArgs({ options: { rps: { type: 'string', default: '1000' }, only: { type: 'string' } } });
const rps = Number(values.rps);
const baseUrl = process.env.TERN_TEST_POSTGRES_URL;
if (baseUrl === undefined) throw new Error('set TERN_TEST_POSTGRES_URL (scripts/start-postgres.sh prints one)');
if (!Number.isInteger(rps) || rps < 1 || rps > 5000) throw new Error(`--rps must be a whole number from 1 to 5000, got ${values.rps}`);

function line(name: string, r: ScenarioResult, extra: string): void {
  const s = r.stats;
  console.log(
    `${name.padEnd(13)} sent ${s.sent}  failed ${s.failed}  retried ${s.retried}  moved on ${s.movedOn}  ` +
      `p99 before ${r.p99BeforeMs} ms  during ${r.p99DuringMs} ms  ${extra}  release ${r.release.status}`,
  );
  for (const [kind, n] of s.failureKinds) console.log(`  failed: ${n} × ${kind}`);
  for (const f of s.failures.slice(0, 3)) console.log(`  e.g. ${f}`);
}

const log = (line: string): void => console.log(`  ${line}`);
console.log(
  `availability bench: ${rps} rps, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
try {
  if (values.only === undefined || values.only === 'leader-kill') {
    const r = await leaderKill({ baseUrl, rps, leaseMs: 6_000, log });
    line('leader-kill', r, `takeover ${r.takeoverMs} ms (lease ${r.leaseMs} ms)  next move ${r.resumedMs} ms after the kill`);
  }
  if (values.only === undefined || values.only === 'rolling') {
    const r = await rollingRestart({ baseUrl, rps, log });
    line('rolling', r, `restarts ${r.restarts.map((x) => `${x.what} ${x.stopMs}+${x.startMs} ms`).join(', ')}`);
  }
} finally {
  await killAll();
}
console.log(
  `load average after: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
