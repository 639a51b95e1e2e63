import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIVE_STATUSES, FINAL_STATUSES, RELEASE_TRANSITIONS, canMove, setWeight, transition } from './release-state.js';
import { ConflictError } from './errors.js';
import { compileAnalysis, compilePlan } from './plan.js';
import type { Release, ReleaseStatus } from './types.js';

function release(status: ReleaseStatus, weight = 500): Release {
  return {
    id: 'r1',
    service: 'checkout',
    version: 'v2',
    endpoints: ['http://127.0.0.1:9002'],
    baseline: { version: 'v1', endpoints: ['http://127.0.0.1:9001'] },
    status,
    stepIndex: 0,
    weight,
    salt: 's',
    bucketHash: 'xxh32',
    steps: compilePlan('5,100'),
    analysis: compileAnalysis(undefined),
    metadata: {},
    createdBy: 'token:ci',
    startedAt: 1,
    stepStartedAt: 1,
    updatedAt: 1,
    endedAt: null,
    reason: null,
  };
}
const ALL = Object.keys(RELEASE_TRANSITIONS) as ReleaseStatus[];

describe('release state machine', () => {
  it('allows exactly the moves in the table and throws a coded error otherwise', () => {
    for (const from of ALL) {
      for (const to of ALL) {
        const r = release(from);
        if (canMove(from, to)) {
          assert.equal(transition(r, to, 10).status, to);
        } else {
          assert.throws(
            () => transition(r, to, 10),
            (e: unknown) => e instanceof ConflictError && e.code === 'TERN_ILLEGAL_TRANSITION',
          );
        }
      }
    }
  });
  it('final states are dead ends, rollback is reachable from every non-final state', () => {
    for (const s of FINAL_STATUSES) assert.deepEqual(RELEASE_TRANSITIONS[s], []);
    for (const s of ACTIVE_STATUSES.filter((x) => x !== 'rolling_back')) assert.ok(canMove(s, 'rolling_back'), s);
    assert.ok(canMove('progressing', 'paused') && canMove('paused', 'progressing'));
    assert.ok(!canMove('progressing', 'promoted'), 'promotion passes through promoting');
  });
  it('sets weight and end time as the state implies', () => {
    const rolled = transition(transition(release('progressing', 2500), 'rolling_back', 5, 'errors'), 'rolled_back', 6);
    assert.equal(rolled.weight, 0);
    assert.equal(rolled.endedAt, 6);
    assert.equal(rolled.reason, 'errors');
    const promoted = transition(transition(release('progressing'), 'promoting', 7), 'promoted', 8);
    assert.equal(promoted.weight, 10_000);
    assert.equal(promoted.endedAt, 8);
  });
  it('a manual weight pauses the release and is refused once it has ended', () => {
    const r = setWeight(release('progressing'), 2500, 9, 'hold here');
    assert.equal(r.status, 'paused');
    assert.equal(r.weight, 2500);
    assert.throws(() => setWeight(release('promoted'), 100, 9), /cannot|only while/);
  });
});
