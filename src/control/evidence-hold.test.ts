/**
 * The step's hold while Prometheus has no data: the release says why (once per reason), the
 * step neither advances nor fails meanwhile, and when data returns it resumes with the time
 * without data added back to its hold — so a 1-minute hold interrupted for 40 s ends 40 s later.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Release } from '../core/types.js';
import { releaseFixture } from '../../test/support/release-fixture.js';
import { decide } from './decide.js';
import { createEvidenceHold, withHoldPaused } from './evidence-hold.js';
import type { Move } from './move.js';
import type { PrometheusEvidence } from './prometheus-evidence.js';

function release(overrides: Partial<Release> = {}): Release {
  return releaseFixture({ service: 'shop', stepAppliedAt: 0, ...overrides });
}

describe('evidence hold', () => {
  it('holds with the reason while there is no data, then resumes with the outage added to the hold', async () => {
    let missing: string | null = null;
    const evidence = { noData: () => missing } as unknown as PrometheusEvidence;
    const moves: Array<{ action: string; reason: string }> = [];
    let current = release();
    const move: Move = (seen, action, reason, change) => {
      moves.push({ action, reason });
      current = change(seen);
      return Promise.resolve(true);
    };
    const hold = createEvidenceHold(evidence, move);
    assert.equal(await hold(current, 10_000), 0, 'data flows: nothing held');
    missing = 'no data from Prometheus: canary v2: fetch failed';
    assert.equal(await hold(current, 20_000), null);
    assert.equal(await hold(current, 40_000), null);
    assert.deepEqual(moves, [{ action: 'release.no-data', reason: missing }], 'the reason is written once');
    assert.equal(current.reason, missing);
    missing = null;
    const paused = await hold(current, 60_000);
    assert.equal(paused, 40_000);
    assert.equal(moves.at(-1)?.action, 'release.data-resumed');
    // Without the pause the 1-minute hold would be over at 60 s; with it, the step holds until 100 s.
    const clean = { outcome: 'inconclusive' as const, judge: 'sequential', sufficient: true, summary: 'ok' };
    assert.equal(decide(current, clean, 61_000).kind, 'advance');
    assert.equal(decide(withHoldPaused(current, paused), clean, 61_000).kind, 'hold');
    assert.equal(decide(withHoldPaused(current, paused), clean, 100_000).kind, 'advance');
    assert.equal(await hold(current, 70_000), 40_000, 'the outage stays counted for the step');
    assert.equal(await hold({ ...current, stepIndex: 1, stepAppliedAt: 80_000 }, 90_000), 0, 'a new step starts afresh');
  });
});
