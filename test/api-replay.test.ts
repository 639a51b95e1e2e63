/**
 * `POST /api/v1/releases/:id/replay` through app.inject(), over a store holding a real release
 * history (the real controller ran it): a viewer may replay, the answer says per step what
 * happened and what the replay says, bad settings are refused with the field named, and a
 * replay writes nothing — not even an audit event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReplayJson } from '../src/api/schemas/replay.js';
import { type ErrorJson, type Harness, startHarness } from './api-harness.js';
import { HEALTHY, type RealRun, runRealRelease } from './support/replay-scenarios.js';

describe('POST /api/v1/releases/:id/replay', () => {
  let run: RealRun;
  let h: Harness;
  before(async () => {
    run = await runRealRelease({ plan: '10:30s,50:30s,100', analysis: {}, canary: { ...HEALTHY, medianMs: 22 }, seed: 8 });
    h = await startHarness({ wrapStore: () => run.store });
  });
  after(async () => {
    await h.close();
    await run.store.close();
  });

  it('lets a viewer replay with a stricter tolerance and answers step by step beside the real history', async () => {
    const auditBefore = (await h.store.listAudit({ limit: 1000 })).length;
    const res = await h.call('POST', '/api/v1/releases/rel-1/replay', {
      token: h.tokens.viewer,
      body: { analysis: { latency: { tolerance: 0.02, minDifferenceMs: 0 } } },
    });
    assert.equal(res.statusCode, 200, res.body);
    const report = res.json<ReplayJson>();
    assert.equal(report.real.status, 'promoted');
    assert.equal(report.outcome.kind, 'fail');
    assert.deepEqual(report.analysis.latency, { tolerance: 0.02, minDifferenceMs: 0, p99MaxMs: null });
    assert.equal(report.analysis.errorRate.tolerance, run.release.analysis.errorRate.tolerance, 'the rest is the release’s own');
    assert.deepEqual(
      report.steps.map((s) => [s.weight, s.real?.outcome]),
      [
        [10, 'advanced'],
        [50, 'advanced'],
        [100, 'promoted'],
      ],
    );
    const failing = report.steps.find((s) => s.replay.outcome === 'fail')!;
    assert.equal(failing.replay.action, 'rollback');
    assert.ok(failing.replay.afterMs! > 0 && failing.replay.afterMs! <= 30_000);
    assert.ok(failing.replay.verdict!.checks.some((c) => c.check === 'latency' && c.outcome === 'fail'));
    assert.match(report.summary, /^Would have rolled back at step \d .*; really it was promoted/);
    assert.match(report.note, /after a real step change, evidence comes from the real weight/);
    assert.equal((await h.store.listAudit({ limit: 1000 })).length, auditBefore, 'a replay writes no audit event');
    assert.equal((await h.store.getRelease('rel-1'))!.status, 'promoted');
  });

  it('with no body replays the release’s own settings and agrees with what happened', async () => {
    const res = await h.call('POST', '/api/v1/releases/rel-1/replay', { token: h.tokens.viewer, body: {} });
    assert.equal(res.statusCode, 200, res.body);
    const report = res.json<ReplayJson>();
    assert.equal(report.outcome.kind, 'promote');
    assert.deepEqual(
      report.steps.map((s) => s.replay.at),
      report.steps.map((s) => s.real?.endedAt),
    );
  });

  it('refuses bad settings naming the field, and an unknown release with 404', async () => {
    const bad = await h.call('POST', '/api/v1/releases/rel-1/replay', { body: { analysis: { latency: { tolerance: -1 } } } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<ErrorJson>().error.message, /latency\/tolerance|latency\.tolerance/);
    const unknown = await h.call('POST', '/api/v1/releases/rel-1/replay', { body: { analysis: { judge: 'coin-flip' } } });
    assert.equal(unknown.statusCode, 400);
    const missing = await h.call('POST', '/api/v1/releases/no-such/replay', { body: {} });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json<ErrorJson>().error.code, 'TERN_RELEASE_NOT_FOUND');
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await h.call('GET', '/api/v1/openapi.json', { token: null })).json<{ paths: Record<string, Record<string, unknown>> }>();
    assert.ok(doc.paths['/api/v1/releases/{id}/replay']?.post);
  });
});
