import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileAnalysis, compilePlan } from '../core/plan.js';
import type { AuditEvent, Release } from '../core/types.js';
import { realTimeline } from './timeline.js';

const T = 1_700_000_000_000;
const release: Release = {
  id: 'r1',
  service: 'checkout',
  version: 'v2',
  endpoints: [],
  baseline: { version: 'v1', endpoints: [] },
  status: 'rolled_back',
  stepIndex: 2,
  weight: 0,
  salt: 's',
  bucketHash: 'xxh32',
  steps: compilePlan('5:1m,25:1m,50:1m,100'),
  analysis: compileAnalysis(undefined),
  metadata: {},
  createdBy: 'token:ci',
  startedAt: T,
  stepStartedAt: T + 70_000,
  updatedAt: T + 95_000,
  endedAt: T + 95_000,
  reason: 'bad',
};
let id = 0;
function ev(at: number, action: string, actor = 'system', detail: AuditEvent['detail'] = null, reason: string | null = null): AuditEvent {
  return {
    id: ++id,
    at: T + at,
    actor,
    source: null,
    action,
    target: 'release/r1',
    service: 'checkout',
    outcome: 'success',
    reason,
    detail,
  };
}

describe('real step timeline from audit events', () => {
  it('follows controller and operator moves, and ends where the release ended', () => {
    const events = [
      ev(0, 'release.start', 'token:ci', { status: 'pending' }),
      ev(2_000, 'release.start'),
      ev(40_000, 'release.advance', 'system', null, 'step 1/4 (5%) passed analysis'),
      ev(50_000, 'release.pause', 'token:ops', { status: 'paused', weight: 25, stepIndex: 1 }, 'look first'),
      { ...ev(51_000, 'release.resume', 'token:ops', { status: 'progressing', weight: 25, stepIndex: 1 }), outcome: 'denied' as const },
      ev(60_000, 'release.resume', 'token:ops', { status: 'progressing', weight: 25, stepIndex: 1 }),
      ev(70_000, 'release.promote', 'token:ops', { status: 'progressing', weight: 50, stepIndex: 2 }),
      ev(80_000, 'release.weight', 'token:ops', { weight: 60, status: 'paused' }),
      ev(95_000, 'release.rollback', 'token:ops', { status: 'rolled_back', weight: 0, stepIndex: 2 }, 'bad'),
      ev(96_000, 'release.retired'),
    ];
    const steps = realTimeline(release, events.reverse());
    assert.deepEqual(
      steps.map((s) => [s.stepIndex, s.weight, s.startedAt - T, s.endedAt! - T, s.outcome, s.by]),
      [
        [0, 500, 2_000, 40_000, 'advanced', 'system'],
        [1, 2500, 40_000, 70_000, 'advanced', 'token:ops'],
        [2, 5000, 70_000, 95_000, 'rolled-back', 'token:ops'],
      ],
    );
    assert.deepEqual(steps[1]!.notes, ['paused by token:ops: look first', 'resumed by token:ops']);
    assert.deepEqual(steps[2]!.notes, ['weight set by hand to 60% by token:ops']);
    assert.equal(steps[2]!.reason, 'bad');
  });

  it("notes a gate's holds on the step they held: one note per run of refusals or outages", () => {
    const hook = 'held by gate confirm-step (https://ci.example/gate)';
    const events = [
      ev(0, 'release.start'),
      ev(
        30_000,
        'release.gate',
        'system',
        { answer: 'unreachable' },
        `${hook}: unreachable, HTTP 503 (not a 2xx answer) (1/5 failures) since T1`,
      ),
      ev(
        31_000,
        'release.gate',
        'system',
        { answer: 'unreachable' },
        `${hook}: unreachable, HTTP 503 (not a 2xx answer) (2/5 failures) since T1`,
      ),
      ev(33_000, 'release.gate', 'system', { answer: 'refused', status: 409 }, `${hook}: refused 409 'change freeze' since T2`),
      ev(40_000, 'release.advance', 'system', null, 'step 1/4 (5%) passed analysis'),
      ev(95_000, 'release.rollback', 'token:ops', { status: 'rolled_back' }, 'bad'),
    ];
    const steps = realTimeline(release, events);
    assert.deepEqual(steps[0]!.notes, [
      `${hook}: unreachable, HTTP 503 (not a 2xx answer) (2/5 failures) since T1`,
      `${hook}: refused 409 'change freeze' since T2`,
    ]);
    assert.deepEqual(steps[1]!.notes, []);
  });

  it('starts a release created ready at its start; a running or paused one stays open', () => {
    const running = { ...release, status: 'progressing' as const, stepIndex: 0, stepStartedAt: T, endedAt: null };
    assert.deepEqual(
      realTimeline(running, [ev(0, 'release.start', 'token:ci', { status: 'progressing' })]).map((s) => [
        s.startedAt - T,
        s.endedAt,
        s.outcome,
      ]),
      [[0, null, 'running']],
    );
    const paused = { ...running, status: 'paused' as const };
    const steps = realTimeline(paused, [
      ev(0, 'release.start', 'token:ci', { status: 'progressing' }),
      ev(9_000, 'release.pause', 'system', null, 'latency failed'),
    ]);
    assert.deepEqual(
      steps.map((s) => [s.endedAt! - T, s.outcome, s.reason]),
      [[9_000, 'paused', 'latency failed']],
    );
  });
});
