/**
 * A progressing release for unit tests of the controller's pure parts: step 0 of `5:1m,100` at
 * 5%, default analysis, every time 0. Tests override what they look at.
 */
import { compileAnalysis, compilePlan } from '../../src/core/plan.js';
import type { Release } from '../../src/core/types.js';

export function releaseFixture(overrides: Partial<Release> = {}): Release {
  return {
    id: 'r1',
    service: 'checkout',
    version: 'v2',
    endpoints: [],
    baseline: { version: 'v1', endpoints: [] },
    status: 'progressing',
    stepIndex: 0,
    weight: 500,
    salt: 's',
    bucketHash: 'xxh32',
    steps: compilePlan('5:1m,100'),
    analysis: compileAnalysis(undefined),
    metadata: {},
    createdBy: 'token:ci',
    startedAt: 0,
    stepStartedAt: 0,
    updatedAt: 0,
    endedAt: null,
    reason: null,
    ...overrides,
  };
}
