import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_WARM_UP_REQUESTS } from '../gateway/limits.js';
import { addLimitOptions, limitsFrom, parseTimeout, warmUpFrom, type LimitFlags } from './limit-flags.js';

describe('limit flags', () => {
  it('turn into gateway limits in ms, leaving unset ones to the defaults', () => {
    const cmd = addLimitOptions(new Command().exitOverride());
    cmd.parse(['--max-connections', '5000', '--header-timeout', '5s', '--keepalive-timeout', '2m', '--body-timeout', '0'], {
      from: 'user',
    });
    assert.deepEqual(limitsFrom(cmd.opts<LimitFlags>()), {
      maxConnections: 5_000,
      headersTimeoutMs: 5_000,
      bodyIdleTimeoutMs: 0,
      keepAliveTimeoutMs: 120_000,
    });
  });
  it('refuse a timeout that is not a duration', () => {
    assert.throws(() => parseTimeout('ten'), InvalidArgumentError);
    assert.equal(parseTimeout('250ms'), 250);
  });
  it('warm the gateway up by default, --warm-up 0 turns it off, a count that is not one is refused', () => {
    const parse = (...args: string[]): number =>
      warmUpFrom(addLimitOptions(new Command().exitOverride()).parse(args, { from: 'user' }).opts<LimitFlags>());
    assert.equal(parse(), DEFAULT_WARM_UP_REQUESTS);
    assert.equal(parse('--warm-up', '0'), 0);
    assert.equal(parse('--warm-up', '250'), 250);
    for (const bad of ['-1', 'ten', '2.5', '1000000']) assert.throws(() => parse('--warm-up', bad), /warm-up|expected/, bad);
  });
});
