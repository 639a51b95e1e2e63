import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileAnalysis, compilePlan } from './plan.js';
import { appliedAtWrite, applyAction, effectsOf, nextRelease, settle, usersMoved } from './release-rules.js';
import type { Release } from './types.js';

const T = 1_800_000_000_000;
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
  startedAt: T,
  stepStartedAt: T,
  routingVersion: 4,
  stepAppliedAt: T + 100,
  updatedAt: T,
  endedAt: null,
  reason: null,
};

describe('release rules (pure)', () => {
  it('settle keeps identity, restarts the step clock on a new step, and moves updatedAt', () => {
    const next = settle(base, { ...base, service: 'x', version: 'v9', salt: 'y', stepIndex: 1, weight: 2500 }, T + 5000);
    assert.deepEqual([next.service, next.version, next.salt], ['s', 'v2', 'salt']);
    assert.equal(next.stepStartedAt, T + 5000);
    assert.equal(next.updatedAt, T + 5000);
    assert.equal(settle(base, { ...base, weight: 700 }, T + 5000).stepStartedAt, T, 'same step, same clock');
  });

  it('names the effects: a routing bump when status or weight change, users moved only when the weight, step or endpoints do', () => {
    const paused = applyAction('pause', base, T + 1, null);
    assert.deepEqual(effectsOf(base, paused), { routing: true, usersMoved: false, promoted: false, ended: false });
    const promoted = applyAction('promote', base, T + 1, null, true);
    assert.deepEqual(effectsOf(base, promoted), { routing: true, usersMoved: true, promoted: true, ended: true });
    assert.deepEqual(effectsOf(base, { ...base, reason: 'note' }), { routing: false, usersMoved: false, promoted: false, ended: false });
    assert.equal(usersMoved(base, { ...base, endpoints: ['http://c'] }), true);
    assert.equal(usersMoved({ ...base, status: 'pending' }, base), true, 'the start moves users');
  });

  it('a moved weight waits for live data planes; with none it is applied at the write (a new step at its start)', () => {
    const stepped = nextRelease(base, { ...base, stepIndex: 1, weight: 2500 }, T + 9000, 0).release;
    assert.equal(stepped.stepAppliedAt, T + 9000, 'no live data plane: the new step is applied at its start');
    assert.equal(nextRelease(base, { ...base, stepIndex: 1, weight: 2500 }, T + 9000, 2).release.stepAppliedAt, null);
    assert.equal(appliedAtWrite(base, { ...base, weight: 900 }, 0), T + 100, 'a hand-set weight keeps the hold it had');
    assert.equal(
      nextRelease(base, { ...base, reason: 'x' }, T + 9000, 3).release.stepAppliedAt,
      T + 100,
      'nothing moved: nothing to wait for',
    );
  });

  it('resume restarts the apply deadline of a step still waiting for its data planes, and only then', () => {
    const waiting = { ...base, status: 'paused' as const, stepAppliedAt: null };
    assert.equal(applyAction('resume', waiting, T + 60_000, null).stepStartedAt, T + 60_000);
    assert.equal(applyAction('resume', { ...base, status: 'paused' }, T + 60_000, null).stepStartedAt, T);
  });
});
