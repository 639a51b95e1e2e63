import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gateFailedText, gateHoldText, isGateHoldText, isRefusal, sanitizeGateReason, type GateHold } from './gate-hold.js';

const hold: GateHold = {
  gate: 'confirm-step',
  hook: 'https://ci.example/gate',
  answer: 'refused',
  status: 409,
  detail: 'HTTP 409 (not a 2xx answer)',
  reason: 'change freeze',
  failures: 0,
  maxFailures: 5,
  since: Date.UTC(2026, 11, 1, 12, 1, 7, 450),
};

describe('gate holds', () => {
  it('tells a deliberate no (4xx) from an outage (5xx, 3xx, 408, 429, no answer)', () => {
    for (const s of [400, 401, 403, 404, 409, 422, 451]) assert.equal(isRefusal(s), true, String(s));
    for (const s of [null, 200, 302, 408, 429, 500, 502, 503]) assert.equal(isRefusal(s), false, String(s));
  });

  it('says which gate holds, how and since when', () => {
    assert.equal(
      gateHoldText(hold),
      "held by gate confirm-step (https://ci.example/gate): refused 409 'change freeze' since 2026-12-01T12:01:07Z",
    );
    assert.equal(
      gateHoldText({ ...hold, reason: null }),
      'held by gate confirm-step (https://ci.example/gate): refused 409 (no reason given) since 2026-12-01T12:01:07Z',
    );
    const outage = { ...hold, answer: 'unreachable' as const, status: null, detail: 'timed out after 5s', reason: null, failures: 3 };
    assert.equal(
      gateHoldText(outage),
      'held by gate confirm-step (https://ci.example/gate): unreachable, timed out after 5s (3/5 failures) since 2026-12-01T12:01:07Z',
    );
    assert.equal(
      gateFailedText({ ...outage, failures: 5 }),
      'gate confirm-step (https://ci.example/gate) unreachable: timed out after 5s (5/5 failures since 2026-12-01T12:01:07Z)',
    );
    assert.equal(isGateHoldText(gateHoldText(outage)), true);
    assert.equal(isGateHoldText('waiting for data planes'), false);
  });

  it('keeps only a short, printable JSON reason of an answer', () => {
    assert.equal(
      sanitizeGateReason('application/json; charset=utf-8', '{"reason":"change\\u0000 freeze\\n\\n until 14:00"}'),
      'change freeze until 14:00',
    );
    assert.equal(sanitizeGateReason('application/problem+json', '{"reason":"not now"}'), 'not now');
    assert.equal(sanitizeGateReason('text/plain', '{"reason":"not now"}'), null, 'only a JSON answer');
    assert.equal(sanitizeGateReason('application/json', 'not json'), null);
    assert.equal(sanitizeGateReason('application/json', '{"error":{"reason":"nested"}}'), null, 'only the top-level field');
    assert.equal(sanitizeGateReason('application/json', '{"reason":42}'), null);
    assert.equal(sanitizeGateReason('application/json', '{"reason":" \\t "}'), null);
    const long = sanitizeGateReason('application/json', JSON.stringify({ reason: 'x'.repeat(500) }));
    assert.equal(long?.length, 80);
    assert.ok(long?.endsWith('…'));
  });
});
