import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEPLOYMENT_TRANSITIONS, canMoveDeployment, moveDeployment } from './deployment-state.js';
import { ConflictError } from './errors.js';
import type { DeployedInstance, Deployment, DeploymentState } from './types.js';

const instance: DeployedInstance = {
  index: 0,
  pid: 4242,
  port: 9002,
  endpoint: 'http://127.0.0.1:9002',
  logFile: '/tmp/logs/web/v2-0.log',
  startedAt: 1,
};
const deployment = (state: DeploymentState): Deployment => ({ driver: 'process', state, instances: [instance], retiredAt: null });
const STATES: readonly DeploymentState[] = ['starting', 'ready', 'failed', 'retired'];

describe('deployment state machine', () => {
  it('walks a launch from nothing to retired, stamping retiredAt only on retiring', () => {
    const starting = moveDeployment(null, 'starting', [instance], 5);
    assert.deepEqual(starting, { driver: 'process', state: 'starting', instances: [instance], retiredAt: null });
    const ready = moveDeployment(starting, 'ready', [instance], 6);
    assert.equal(ready.state, 'ready');
    assert.equal(ready.retiredAt, null);
    const retired = moveDeployment(ready, 'retired', ready.instances, 7);
    assert.deepEqual([retired.state, retired.retiredAt], ['retired', 7]);
  });

  it('refuses a move the table does not allow with TERN_ILLEGAL_TRANSITION, saying what is allowed', () => {
    // A retired deployment's processes are gone: marking it ready again would route to dead ports.
    assert.throws(
      () => moveDeployment(deployment('retired'), 'ready', [instance], 9),
      (err: unknown) =>
        err instanceof ConflictError &&
        err.code === 'TERN_ILLEGAL_TRANSITION' &&
        /retired cannot move to ready \(it has ended\)/.test(err.message),
    );
    assert.throws(
      () => moveDeployment(deployment('ready'), 'starting', [instance], 9),
      (err: unknown) => err instanceof ConflictError && /ready cannot move to starting \(allowed: retired\)/.test(err.message),
    );
    assert.throws(() => moveDeployment(undefined, 'ready', [instance], 9), /not started cannot move to ready/);
  });

  it('allows exactly the moves in the table, from every state to every state', () => {
    for (const from of [null, ...STATES]) {
      for (const to of STATES) {
        const current = from === null ? null : deployment(from);
        if (canMoveDeployment(from, to)) assert.equal(moveDeployment(current, to, [instance], 3).state, to);
        else assert.throws(() => moveDeployment(current, to, [instance], 3), ConflictError, `${from} → ${to}`);
      }
    }
    // Only retired is an end; every other state has a way out.
    assert.deepEqual(
      STATES.filter((s) => DEPLOYMENT_TRANSITIONS[s].length === 0),
      ['retired'],
    );
  });
});
