/**
 * What-if replay against real histories: the real controller runs a release over SQLite with a
 * fake clock, then its stored windows and audit events are replayed. With the release's own
 * settings the replay must say exactly what really happened (same second, same sentence);
 * with other settings it says when and why the release would have passed or failed instead.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { replayRelease, type ReplayReport } from '../src/control/replay.js';
import { realTimeline } from '../src/control/timeline.js';
import { overrideAnalysis } from '../src/core/analysis-override.js';
import type { AnalysisInput } from '../src/core/plan.js';
import { HEALTHY, type RealRun, runRealRelease, type Scenario } from './support/replay-scenarios.js';

/** A cautious team's release of a canary 10% slower: strict latency tolerance, many requests before "enough". */
const STRICT_FAILED: Scenario = {
  plan: '10:10s,100',
  analysis: { minRequests: 5000, warmup: 0, latency: { tolerance: 0.02, minDifferenceMs: 0 } },
  canary: { ...HEALTHY, medianMs: 22 },
  seed: 7,
};
/** The same canary under the default settings: 2 ms slower is within "20% and 5 ms", so it is promoted. */
const DEFAULT_PROMOTED: Scenario = { plan: '10:30s,50:30s,100', analysis: {}, canary: { ...HEALTHY, medianMs: 22 }, seed: 8 };

async function replay(run: RealRun, override?: AnalysisInput): Promise<ReplayReport> {
  const { store, release, now } = run;
  const [windows, events] = await Promise.all([store.listMetricWindows(release.id), store.listAudit({ limit: 1000 })]);
  return replayRelease({
    release,
    timeline: realTimeline(release, events),
    windows,
    analysis: overrideAnalysis(release.analysis, override),
    now,
  });
}

describe('what-if replay of real releases', () => {
  let failed: RealRun;
  let promoted: RealRun;
  before(async () => {
    failed = await runRealRelease(STRICT_FAILED);
    promoted = await runRealRelease(DEFAULT_PROMOTED);
  });
  after(async () => {
    await failed.store.close();
    await promoted.store.close();
  });

  it('with the release’s own settings, says exactly what the controller did: same second, same sentence', async () => {
    assert.equal(failed.release.status, 'rolled_back', 'the scenario really rolls back');
    const own = await replay(failed);
    const realEnd = own.steps[0]!.real!.endedAt!;
    assert.equal(own.outcome.kind, 'fail');
    assert.equal(own.outcome.at, realEnd, 'fails at the second the controller did');
    assert.equal(own.outcome.reason, failed.release.reason);
    assert.equal(own.steps[0]!.replay.action, 'rollback');
    assert.equal(promoted.release.status, 'promoted');
    const ownPromoted = await replay(promoted);
    assert.equal(ownPromoted.outcome.kind, 'promote');
    assert.deepEqual(
      ownPromoted.steps.map((s) => s.replay.at),
      ownPromoted.steps.map((s) => s.real!.endedAt),
      'each step passes when it really did',
    );
  });

  it('a release that really failed at step 1 passes that step with a looser tolerance', async () => {
    const report = await replay(failed, { latency: { tolerance: 0.5, minDifferenceMs: 5 }, minRequests: 100 });
    const [first, second] = report.steps;
    assert.equal(first!.real!.outcome, 'rolled-back');
    assert.match(first!.real!.reason ?? '', /latency/);
    assert.equal(first!.replay.outcome, 'pass');
    assert.equal(first!.replay.at, first!.real!.startedAt + 10_000, 'passes when its 10 s hold ends');
    assert.ok(first!.replay.at < first!.real!.endedAt!, 'before the real rollback');
    assert.match(first!.replay.reason, /step 1\/2 \(10%\) held with enough traffic and no sign of regression/);
    assert.equal(second!.replay.outcome, 'no-evidence', 'the real release never reached step 2');
    assert.equal(report.outcome.kind, 'no-failure');
    assert.match(
      report.summary,
      /^Would not have failed on the evidence there is: step 1 passed; really it was rolled back [\d.]+ s after it started; step 2 never really ran/,
    );
  });

  it('a real promotion fails with a stricter tolerance, at a time and for a reason it names', async () => {
    const report = await replay(promoted, { latency: { tolerance: 0.02, minDifferenceMs: 0 } });
    assert.equal(report.outcome.kind, 'fail');
    const failing = report.steps.find((s) => s.replay.outcome === 'fail')!;
    assert.equal(report.outcome.stepIndex, failing.stepIndex);
    assert.ok(
      failing.replay.at! > failing.real!.startedAt && failing.replay.at! <= failing.real!.endedAt!,
      'within the step’s real evidence',
    );
    assert.match(failing.replay.reason, /^sequential judge failed step \d\/3 \(\d+%\): latency: /);
    const latency = failing.replay.verdict!.checks.find((c) => c.check === 'latency')!;
    assert.equal(latency.outcome, 'fail', 'the first failing verdict’s checks come with it');
    assert.ok(latency.statistic! > latency.bound!);
    for (const later of report.steps.filter((s) => s.stepIndex > failing.stepIndex)) {
      assert.equal(later.replay.outcome, 'not-reached');
      assert.ok(later.real, 'the real history is still shown beside it');
    }
    assert.equal(
      report.steps[1]!.note?.startsWith(`after the real step change at ${new Date(promoted.release.startedAt + 30_000).toISOString()}`),
      true,
    );
    assert.match(report.steps[1]!.note ?? '', /evidence comes from the real weight 50%/);
    assert.match(
      report.summary,
      new RegExp(`^Would have rolled back at step ${failing.stepIndex + 1} [\\d.]+ s after the release started; really it was promoted`),
    );
  });

  it('replays a long release second by second in well under a second', async () => {
    const t = performance.now();
    const report = await replay(promoted, { judge: 'sequential', minRequests: 10_000_000 });
    assert.ok(report.looks >= 60, `${report.looks} looks`);
    assert.ok(performance.now() - t < 2000);
    assert.equal(report.outcome.kind, 'no-failure');
    assert.match(report.summary, /steps 1, 2 stayed undecided/);
  });
});
