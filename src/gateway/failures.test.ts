import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classify, isGatewayFailure, statusFor } from './failures.js';

const sys = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code });

describe('failure classification', () => {
  it("keeps the gateway's own resource errors apart from the upstream's failures", () => {
    for (const code of ['EMFILE', 'ENFILE', 'ENOBUFS', 'EADDRNOTAVAIL', 'ENOMEM']) {
      assert.equal(classify(sys(code)), 'local', code);
    }
    assert.equal(classify(new TypeError('fetch failed', { cause: sys('EMFILE') })), 'local', 'a wrapped cause counts');
    assert.deepEqual([isGatewayFailure('local'), statusFor('local')], [true, 503]);
    const upstream: Array<[string, string]> = [
      ['ECONNREFUSED', 'connect'],
      ['ECONNRESET', 'reset'],
      ['UND_ERR_CONNECT_TIMEOUT', 'connect-timeout'],
      ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ];
    for (const [code, kind] of upstream) {
      assert.equal(classify(sys(code)), kind, code);
      assert.equal(isGatewayFailure(classify(sys(code))), false, code);
    }
  });
});
