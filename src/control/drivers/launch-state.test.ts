import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LaunchState } from './launch-state.js';

describe('LaunchState', () => {
  it('runs one retirement per release at a time: a second request joins the first', async () => {
    const state = new LaunchState();
    let runs = 0;
    let finish: () => void = () => undefined;
    const job = () => {
      runs++;
      return new Promise<void>((resolve) => (finish = resolve));
    };
    const first = state.retireOnce('r1', job);
    const second = state.retireOnce('r1', job);
    assert.equal(runs, 1);
    assert.equal(state.busy('r1'), true);
    finish();
    await Promise.all([first, second]);
    assert.equal(state.busy('r1'), false);
    // Once settled, a later retirement (e.g. a retry after a failure) runs afresh.
    const retry = state.retireOnce('r1', job);
    assert.equal(runs, 2);
    finish();
    await retry;
  });

  it('on abort hands back only the launches never recorded on their release, and aborts readiness waits', async () => {
    const state = new LaunchState();
    state.open('recorded').persisted = true;
    state.open('unrecorded');
    assert.deepEqual(
      state.abort().map(([id]) => id),
      ['unrecorded'],
    );
    assert.equal(state.signal.aborted, true);
    await state.drain();
    assert.equal(state.get('recorded'), undefined);
    assert.equal(state.busy('unrecorded'), false);
  });
});
