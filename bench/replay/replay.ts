/**
 * Replay benchmark: how long re-judging a stored 10-minute release takes. Builds the
 * release with the real controller over a SQLite file (600 s of per-second windows per version,
 * 1,000 rps, threshold judge, plan 10% for 3 min then 50% for 7 min), then times what `POST /releases/:id/replay`
 * does: read the release, its windows and its events from the store, and replay them with the
 * sequential judge and a request minimum it never reaches, so that every second of the ten
 * minutes is judged (the worst case). Prints one comparable line per figure, then the ratio
 * of a replay to judging the whole evidence once (the floor any replay pays).
 *
 * Usage: node --import tsx bench/replay/replay.ts [--runs N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { judgeWindows } from '../../src/analysis/judge.js';
import { stepEvidence } from '../../src/control/evidence.js';
import { replayRelease } from '../../src/control/replay.js';
import { realTimeline } from '../../src/control/timeline.js';
import { overrideAnalysis } from '../../src/core/analysis-override.js';
import { HEALTHY, runRealRelease } from '../../test/support/replay-scenarios.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);

const dir = mkdtempSync(join(tmpdir(), 'tern-replay-bench-'));
try {
  const built = await runRealRelease(
    {
      plan: '10:3m,50:7m,100',
      analysis: { judge: 'threshold' },
      canary: { ...HEALTHY, errorRate: 0.0065, medianMs: 21 },
      seed: 42,
      seconds: 620,
    },
    join(dir, 'tern.db'),
  );
  const { store, now } = built;
  const seconds = Math.round(((built.release.endedAt ?? now) - built.release.startedAt) / 1000);
  // The worst case: a what-if the sequential judge cannot decide on, so every second is looked at.
  const strict = { judge: 'sequential' as const, minRequests: 10_000_000 };
  const totals: number[] = [];
  const replays: number[] = [];
  const cpu: number[] = [];
  let looks = 0;
  let windowsCount = 0;
  let outcome = '';
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now();
    const release = (await store.getRelease('rel-1'))!;
    const [windows, events] = await Promise.all([store.listMetricWindows(release.id), store.listAudit({ limit: 1000 })]);
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    const report = replayRelease({
      release,
      timeline: realTimeline(release, events),
      windows,
      analysis: overrideAnalysis(release.analysis, strict),
      now,
    });
    const t2 = performance.now();
    const c2 = process.cpuUsage(c1);
    cpu.push((c2.user + c2.system) / 1000);
    totals.push(t2 - t0);
    replays.push(t2 - t1);
    looks = report.looks;
    windowsCount = windows.length;
    outcome = report.summary;
  }
  // The floor: judging all of the release's evidence once, as one verdict.
  const release = (await store.getRelease('rel-1'))!;
  const windows = await store.listMetricWindows(release.id);
  const evidence = stepEvidence({ ...release, stepStartedAt: release.startedAt }, windows);
  const once: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const t = performance.now();
    judgeWindows(release.analysis, { windows: evidence, stepStartedAt: release.startedAt, now, holdMs: 0 });
    once.push(performance.now() - t);
  }
  await store.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`# release of ${seconds} s, ${windowsCount} stored windows, ${looks} looks; replay says: ${outcome}`);
  console.log(`replay-10min total_ms ${median(totals).toFixed(1)}  (store reads + replay, median of ${RUNS}; target < 1000)`);
  console.log(
    `replay-10min judge_cpu_ms ${median(cpu).toFixed(1)}  (CPU time of the replay alone; load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)`,
  );
  console.log(`replay-10min judge_ms ${median(replays).toFixed(1)}  (${(median(replays) / looks).toFixed(3)} ms per look)`);
  console.log(
    `judge-once ms ${median(once).toFixed(2)}; replay/judge-once ratio ${(median(replays) / median(once)).toFixed(0)} (one look per second of evidence)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
