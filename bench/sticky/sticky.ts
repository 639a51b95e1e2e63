/**
 * The sticky bucket's cost per request: stickyBucket(salt, userKey) under xxh32
 * (new releases) and murmur3 (releases started before), in interleaved rounds over the same
 * keys — a 22-character release salt and ids like those a gateway sees (user ids, 22-character
 * cookies, IPs, some non-ASCII names) — as the median of the rounds in CPU time per call (the
 * wall clock also counts the process being preempted on a busy machine). Then whether hashing
 * allocates: minor (scavenge) GCs during 5 million calls, which is 0 when nothing is allocated.
 * Prints one comparable figure per line.
 *   node --import tsx bench/sticky/sticky.ts
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { stickyBucket } from '../../src/core/sticky.js';
import type { BucketHash } from '../../src/core/types.js';

const SALT = 'ksEl7BnKZFL_zgEcvv6eYA';
const KEYS = Array.from({ length: 1024 }, (_, i) => {
  if (i % 8 === 0) return `10.0.${i >> 8}.${i & 255}`;
  if (i % 8 === 1) return `zoë-用户-${i}`;
  if (i % 2 === 1) return `user-${i * 7919}`;
  return Buffer.from(`cookie-${i}-padding-bytes`).toString('base64url').slice(0, 22);
});
const CALLS = 2_000_000;
const ROUNDS = 9;
const HASHES: readonly BucketHash[] = ['xxh32', 'murmur3'];

let sink = 0; // xor keeps it a small integer: adding would box it, and that allocation would be ours
function round(hash: BucketHash, calls = CALLS): number {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) sink ^= stickyBucket(SALT, KEYS[i & 1023]!, hash);
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / calls;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const times: Record<BucketHash, number[]> = { xxh32: [], murmur3: [] };
for (const h of HASHES) round(h); // warm up both before measuring either
for (let r = 0; r < ROUNDS; r++) for (const h of r % 2 ? [...HASHES].reverse() : HASHES) times[h].push(round(h));
const bytes = KEYS.reduce((n, k) => n + Buffer.byteLength(SALT + k), 0) / KEYS.length;
console.log(`keys: ${KEYS.length}, mean salt+key ${bytes.toFixed(1)} bytes, ${ROUNDS} interleaved rounds of ${CALLS} calls`);
for (const h of HASHES) {
  console.log(`stickyBucket ${h}: ${median(times[h]).toFixed(1)} ns/op CPU (median; min ${Math.min(...times[h]).toFixed(1)})`);
}

let minor = 0;
const gcs = new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
});
gcs.observe({ entryTypes: ['gc'] });
for (const h of [...HASHES, ...HASHES]) {
  await sleep(50); // GC entries arrive asynchronously: let the previous ones land first
  const before = minor;
  round(h, 5_000_000);
  await sleep(50);
  console.log(`stickyBucket ${h}: ${minor - before} minor GCs over 5e6 calls`);
}
gcs.disconnect();
if (sink === -1) console.log('unreachable');
