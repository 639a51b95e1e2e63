import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileAnalysis, compilePlan } from './plan.js';
import type { Release } from './types.js';
import { applyAction, promote } from './release-rules.js';

const base: Release = {
  id: 'r1',
  service: 's',
  version: 'v2',
  endpoints: ['http://a'],
  baseline: { version: 'v1', endpoints: ['http://b'] },
  status: 'progressing',
  stepIndex: 0,
  weight: 500,
  salt: 'salt',
  bucketHash: 'xxh32',
  steps: compilePlan('5,25,50,100'),
  analysis: compileAnalysis(undefined),
  metadata: {},
  createdBy: 'test',
  startedAt: 0,
  stepStartedAt: 0,
  updatedAt: 0,
  endedAt: null,
  reason: null,
};

describe('release actions', () => {
  it('promote goes to the next step above the current weight, then to promoted', () => {
    const next = promote(base, 10, null, false);
    assert.deepEqual([next.stepIndex, next.weight, next.stepStartedAt, next.status], [1, 2500, 10, 'progressing']);
    assert.deepEqual([promote({ ...base, weight: 3000, status: 'paused' }, 10, null, false).stepIndex], [2]);
    const last = promote({ ...base, stepIndex: 3, weight: 10_000 }, 20, 'done', false);
    assert.deepEqual([last.status, last.weight, last.endedAt, last.reason], ['promoted', 10_000, 20, 'done']);
    assert.equal(promote(base, 5, null, true).status, 'promoted');
  });

  it('promote from pending starts progressing at the first step', () => {
    const next = promote({ ...base, status: 'pending', weight: 0 }, 1, null, false);
    assert.deepEqual([next.status, next.stepIndex, next.weight], ['progressing', 0, 500]);
  });

  it('rollback ends at weight 0; illegal moves throw', () => {
    const rolled = applyAction('rollback', base, 3, 'bad');
    assert.deepEqual([rolled.status, rolled.weight, rolled.endedAt], ['rolled_back', 0, 3]);
    assert.throws(() => applyAction('resume', rolled, 4, null), { code: 'TERN_ILLEGAL_TRANSITION' });
    assert.throws(() => promote(rolled, 4, null, false), { code: 'TERN_ILLEGAL_TRANSITION' });
  });
});
