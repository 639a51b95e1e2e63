import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFailureLimiter } from './failure-limiter.js';

describe('failure limiter', () => {
  it('blocks an address after max failures until its window ends, and only that address', () => {
    let now = 0;
    const limiter = createFailureLimiter({ max: 2, windowMs: 1000 }, () => now);
    limiter.recordFailure('a');
    assert.equal(limiter.blockedFor('a'), 0);
    now = 100;
    limiter.recordFailure('a');
    assert.equal(limiter.blockedFor('a'), 900);
    assert.equal(limiter.blockedFor('b'), 0);
    now = 1000;
    assert.equal(limiter.blockedFor('a'), 0, 'a new window');
    limiter.recordFailure('a');
    assert.equal(limiter.blockedFor('a'), 0, 'the count restarted');
  });

  it('rejects nonsense limits', () => {
    assert.throws(() => createFailureLimiter({ max: 0, windowMs: 1000 }, () => 0), RangeError);
    assert.throws(() => createFailureLimiter({ max: 1, windowMs: 0.5 }, () => 0), RangeError);
  });
});
