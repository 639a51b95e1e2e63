import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricWindow, Release } from '../core/types.js';
import { releaseFixture } from '../../test/support/release-fixture.js';
import { stepEvidence } from './evidence.js';

const release: Release = releaseFixture({ stepStartedAt: 1_000 });

function window(version: string, windowStart: number, extra: Partial<MetricWindow> = {}): MetricWindow {
  return {
    releaseId: 'r1',
    version,
    windowStart,
    windowMs: 1000,
    requests: 10,
    errors: 1,
    latency: { '5': 10 },
    feedbackSum: 0,
    feedbackCount: 0,
    ...extra,
  };
}

describe('stepEvidence', () => {
  it("hands the judges each version's heavy error users and only the requests the version itself handled", () => {
    const evidence = stepEvidence(release, [
      window('v2', 0), // before the step
      window('v2', 1_000, { requests: 20, errors: 6, gatewayErrors: 5, errorUsers: { '0000abcd': 5, '0000beef': 1 } }),
      window('v1', 1_000, { requests: 90, errors: 0 }),
      window('v3', 1_000),
    ]);
    assert.equal(evidence.length, 1);
    const [w] = evidence;
    assert.deepEqual(w?.canary, {
      requests: 15,
      errors: 6,
      latency: { '5': 10 },
      feedbackSum: 0,
      feedbackCount: 0,
      errorUsers: { '0000abcd': 5, '0000beef': 1 },
    });
    assert.deepEqual(w?.stable, { requests: 90, errors: 0, latency: { '5': 10 }, feedbackSum: 0, feedbackCount: 0 });
  });
});
