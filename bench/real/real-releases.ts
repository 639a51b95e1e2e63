/**
 * Releases of real backend processes through a real `tern server` (real
 * processes, not simulation). Starts one `tern server` (the built CLI, bin/tern: run `npx tsc -p
 * tsconfig.json` first; this script builds nothing) on free ports over a fresh data directory,
 * then per scenario: C services, each a separate stable backend process (bench/real/backend.mjs)
 * under steady load through the gateway (R requests a second from many sticky users), and
 * releases one after another per service — a fresh canary process each, W% of users for S
 * seconds then everyone, the default analysis — until N releases have run. Prints one line per
 * release and then one comparable line per scenario: releases, promoted, rolled back, time to
 * rollback (median, p90; from the release's start to its end, server clock), the latency a
 * client sees directly and through the gateway, and whether the machine had room (CPU).
 *   node --import tsx bench/real/real-releases.ts [--scenario all|aa-fast,aa-5ms,...]
 *       [--releases N] [--seconds 60] [--concurrency 5] [--rps 300] [--users 10000] [--weight 10] [--nice=-10]
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runScenario, type ScenarioResult } from './run-scenario.js';
import { ALL, SCENARIOS, type Scenario } from './scenarios.js';
import { quantile } from './load.js';
import { ROOT, killAll, startTernServer } from '../../test/support/processes.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'all' },
    releases: { type: 'string' },
    seconds: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '5' },
    rps: { type: 'string', default: '300' },
    users: { type: 'string', default: '10000' },
    weight: { type: 'string', default: '10' },
    'probe-seconds': { type: 'string', default: '5' },
    nice: { type: 'string', default: '0' },
  },
});

function positive(name: keyof typeof values, max: number): number {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name}: expected a number from 1 to ${max}, got ${values[name]}`);
  return n;
}

const names = values.scenario === 'all' ? [...ALL] : values.scenario.split(',');
const scenarios: Scenario[] = names.map((n) => {
  const s = SCENARIOS.find((x) => x.name === n);
  if (!s) throw new Error(`--scenario: unknown ${n}; known: all, ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return s;
});
if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('no dist/: run `npx tsc -p tsconfig.json` first');

const fmt = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;

/** The first check a rollback reason names ("latency", "error-rate", ...). */
function checkOf(reason: string): string {
  return /failed step [^:]*: ([a-z-]+)/.exec(reason)?.[1] ?? (reason.slice(0, 40) || 'no reason');
}

function summary(r: ScenarioResult): string[] {
  const count = (o: string): number => r.outcomes.filter((x) => x.outcome === o).length;
  const rolled = r.outcomes.filter((x) => x.outcome === 'rolled_back');
  const times = rolled.map((x) => x.seconds);
  const other = r.outcomes.length - count('promoted') - rolled.length;
  const checks = new Map<string, number>();
  for (const x of rolled) checks.set(checkOf(x.reason), (checks.get(checkOf(x.reason)) ?? 0) + 1);
  const peaks = r.outcomes.map((x) => x.latencyPeak).filter(Number.isFinite);
  const c = r.cpu;
  // The machine may be busy with other tenants; what matters is whether Tern and the load got a
  // CPU when they needed one and the rate held.
  const roomy =
    c.serverWaiting < 0.1 &&
    c.clientWaiting < 0.1 &&
    r.loadSkipped === 0 &&
    c.clientLoopP99Ms < 50 &&
    r.underLoad.rps >= 0.97 * Number(values.rps) * Number(values.concurrency);
  return [
    `${r.scenario.name.padEnd(18)} releases ${String(r.outcomes.length).padStart(3)}  promoted ${String(count('promoted')).padStart(3)}  ` +
      `rolled back ${String(rolled.length).padStart(3)}  other ${other}  time to rollback median ${fmt(quantile(times, 0.5))} s  ` +
      `p90 ${fmt(quantile(times, 0.9))} s  latency peak/bound median ${fmt(quantile(peaks, 0.5), 2)} max ${fmt(Math.max(...peaks), 2)}  (expected: ${r.scenario.expect}${rolled.length ? `; rollbacks by ${[...checks].map(([k, v]) => `${k} ${v}`).join(', ')}` : ''})`,
    `${''.padEnd(18)} latency p50/p99 direct ${fmt(r.direct.p50, 2)}/${fmt(r.direct.p99, 2)} ms, via gateway ${fmt(r.gateway.p50, 2)}/${fmt(r.gateway.p99, 2)} ms ` +
      `(${values.rps} rps alone), via gateway under the full load ${fmt(r.underLoad.p50, 2)}/${fmt(r.underLoad.p99, 2)} ms at ${fmt(r.underLoad.rps, 0)} rps, ` +
      `${r.loadFailed} of ${r.loadSent} requests unanswered, ${r.loadSkipped} sends skipped (client could not keep up)`,
    `${''.padEnd(18)} cpu over ${fmt(c.seconds, 0)} s: machine ${pct(c.machineBusy)} busy of ${c.cores} cores (all tenants, load average ${fmt(c.loadAverage)}), tern server ${fmt(c.server, 2)} cores, ` +
      `load client ${fmt(c.client, 2)}, backends ${fmt(c.backends, 2)}; waiting for a CPU: server ${pct(c.serverWaiting)}, client ${pct(c.clientWaiting)} of the time; client loop delay p99 ${fmt(c.clientLoopP99Ms, 0)} ms → ${roomy ? 'not saturated' : 'SATURATED: figures suspect'}`,
  ];
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'tern-real-'));
const token = `tern_${randomBytes(24).toString('hex')}`;
let commit = 'unknown';
try {
  commit = execFileSync('git', ['-C', ROOT, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim().slice(0, 100);
} catch {
  // not a git checkout: the header just says so
}
const cleanup = async (): Promise<void> => {
  await killAll();
  rmSync(dataDir, { recursive: true, force: true });
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

const releases = values.releases === undefined ? undefined : positive('releases', 10_000);
const options = {
  seconds: positive('seconds', 3600),
  concurrency: positive('concurrency', 100),
  rps: positive('rps', 100_000),
  users: positive('users', 10_000_000),
  weight: positive('weight', 100),
  probeSeconds: positive('probe-seconds', 600),
  priority: Number(values.nice),
};
if (!Number.isInteger(options.priority) || options.priority < -20 || options.priority > 19) {
  throw new Error(`--nice: expected a whole number from -20 to 19, got ${values.nice}`);
}
console.log(
  `bench/real at ${commit}: ${scenarios.map((s) => s.name).join(', ')}; ${options.concurrency} services at a time, ${options.rps} rps each ` +
    `from ${options.users} users, ${options.weight}% for ${options.seconds} s then 100%, default analysis`,
);
const results: ScenarioResult[] = [];
try {
  const server = await startTernServer(dataDir, { TERN_ADMIN_TOKEN: token });
  console.log(`tern server: API ${server.apiUrl}, gateway ${server.gatewayUrl}`);
  if (options.priority !== 0) {
    // On a machine shared with other work: this process, the server and (in runScenario) the
    // backends. Linux with autogroup (sched_autogroup_enabled) shares CPU between sessions first,
    // so a process's nice counts only inside its session: the session's own nice is set too (run
    // the script under `setsid` to give it a session of its own). This raises only how soon these
    // processes get a CPU when they want one, not how much they want.
    setPriority(options.priority);
    setPriority(server.proc.child.pid ?? 0, options.priority);
    let group = 'no autogroup';
    try {
      writeFileSync('/proc/self/autogroup', String(options.priority));
      group = readFileSync('/proc/self/autogroup', 'utf8').trim();
    } catch (err) {
      group = `autogroup not set: ${(err as Error).message}`;
    }
    console.log(`nice ${options.priority} for the load generator, the tern server and the backends (${group})`);
  }
  for (const scenario of scenarios) {
    console.log(`${scenario.name}: ${scenario.description}`);
    const result = await runScenario(scenario, {
      ...options,
      releases: releases ?? scenario.releases,
      apiUrl: server.apiUrl,
      gatewayUrl: server.gatewayUrl,
      token,
      serverPid: server.proc.child.pid ?? 0,
      log: (line) => console.log(line),
    });
    results.push(result);
    for (const line of summary(result)) console.log(line);
  }
} finally {
  await cleanup();
}
console.log('\nsummary');
for (const r of results) console.log(summary(r)[0]);
