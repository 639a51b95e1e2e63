import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command, InvalidArgumentError } from 'commander';
import { addLimitOptions, limitsFrom, parseTimeout, type LimitFlags } from './limit-flags.js';

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
});
