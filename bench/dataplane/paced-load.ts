/**
 * Open-loop load at a fixed rate (wrk2 is not installed and wrk cannot hold a rate): requests
 * leave on a schedule whatever the answers do (a burst of the requests due every millisecond
 * timer tick), each with a random user key, over an undici pool; prints one JSON line with
 * latency quantiles in ms, measured from the moment each request was handed to undici (queueing
 * in the pool included) and, separately, from its scheduled time (the generator's own timer lag
 * included, as wrk2 counts it). One second at the rate before the measured seconds is not counted.
 *   node --import tsx bench/dataplane/paced-load.ts URL RPS SECONDS
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { USER_HEADER } from './configs.js';

const [url, rpsArg, secondsArg] = process.argv.slice(2);
const rps = Number(rpsArg);
const seconds = Number(secondsArg);
if (!url || !(rps > 0) || !(seconds > 0)) throw new Error('usage: paced-load.ts URL RPS SECONDS');

const MAX_IN_FLIGHT = 2_000;
const total = Math.round(rps * seconds);
const origin = new URL(url).origin;
const pool = new Pool(origin, { connections: 64, pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000 });
const service: number[] = [];
const scheduled: number[] = [];
let errors = 0;
let skipped = 0;
let inFlight = 0;

async function one(dueAt: number): Promise<void> {
  const t0 = performance.now();
  inFlight++;
  try {
    const res = await pool.request({ path: '/', method: 'GET', headers: { [USER_HEADER]: `u${Math.floor(Math.random() * 1e7)}` } });
    await res.body.dump();
    const t1 = performance.now();
    if (res.statusCode !== 200) errors++;
    else {
      service.push(t1 - t0);
      scheduled.push(t1 - dueAt);
    }
  } catch {
    errors++;
  } finally {
    inFlight--;
  }
}

/** One second at the rate first, not counted: connections open and the JIT warms up. */
async function warmUp(): Promise<void> {
  const until = performance.now() + 1000;
  const warm: Promise<void>[] = [];
  while (performance.now() < until) {
    for (let i = 0; i < Math.max(1, Math.round(rps / 1000)); i++) warm.push(one(performance.now()));
    await sleep(1);
  }
  await Promise.race([Promise.allSettled(warm), sleep(10_000)]);
  service.length = 0;
  scheduled.length = 0;
  errors = 0;
}

await warmUp();
const startedAt = performance.now();
const pending: Promise<void>[] = [];
let sent = 0;
const hardStop = startedAt + (seconds + 30) * 1000;
while (sent < total && performance.now() < hardStop) {
  const due = Math.min(total, Math.floor(((performance.now() - startedAt) * rps) / 1000));
  for (; sent < due; sent++) {
    if (inFlight >= MAX_IN_FLIGHT) skipped++;
    else pending.push(one(startedAt + (sent * 1000) / rps));
  }
  await sleep(1);
}
const elapsed = (performance.now() - startedAt) / 1000;
await Promise.race([Promise.allSettled(pending), sleep(15_000)]);
await pool.close();

const q = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};
console.log(
  JSON.stringify({
    rps: service.length / elapsed,
    ok: service.length,
    errors,
    skipped,
    p50: q(service, 0.5),
    p99: q(service, 0.99),
    p999: q(service, 0.999),
    scheduledP99: q(scheduled, 0.99),
  }),
);
