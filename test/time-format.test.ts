/**
 * One time format for people, in the CLI and the dashboard: UTC, `2025-01-31 14:05:09Z`,
 * whatever the local zone. Both sides are checked on the same instants, in a process whose
 * local zone is not UTC (the browser side is also checked in Chromium: dashboard-gaps.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTime } from '../src/cli/output.js';
import { clock, time } from '../web/src/format.js';

// Node reads TZ when a Date is next formatted: a local-time formatter would show 19:35 here.
process.env.TZ = 'Asia/Kolkata';

const CASES: ReadonlyArray<readonly [input: string, shown: string]> = [
  ['2025-01-31T14:05:09Z', '2025-01-31 14:05:09Z'],
  ['2025-01-31T14:05:09.999Z', '2025-01-31 14:05:09Z'],
  ['2025-01-31T09:05:09-05:00', '2025-01-31 14:05:09Z'],
  ['2024-12-31T23:59:59+00:00', '2024-12-31 23:59:59Z'],
  ['2025-03-01T02:30:00+05:30', '2025-02-28 21:00:00Z'],
];

describe('time format shared by the CLI and the dashboard', () => {
  it('is not UTC locally, so the checks below mean something', () => {
    assert.equal(new Date('2025-01-31T14:05:09Z').getHours(), 19);
  });

  it('the CLI prints UTC with the Z', () => {
    for (const [input, shown] of CASES) assert.equal(formatTime(input), shown, input);
    assert.equal(formatTime(null), '-');
    assert.equal(formatTime('not a time'), 'not a time');
  });

  it('the dashboard shows the same text', () => {
    for (const [input, shown] of CASES) assert.equal(time(input), shown, input);
    assert.equal(time(null), '—');
    assert.equal(time('not a time'), 'not a time');
    assert.equal(clock(Date.parse('2025-01-31T14:05:09Z')), '14:05:09Z');
  });
});
