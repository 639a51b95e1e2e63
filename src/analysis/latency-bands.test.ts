import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bandWidth, compareLatency } from './latency-bands.js';
import { mergeInto, type LatencyHistogram } from '../core/latency-histogram.js';
import { seededRandom, simulateSecond } from './simulate.js';

const ALPHA = 0.01;
const STABLE = { errorRate: 0, medianMs: 20, sigma: 0.5 };

/** Seconds until the canary is judged worse (null if never within `seconds`). */
function secondsToWorse(seed: number, seconds: number, slowdown: number, tol = 0.2): number | null {
  const rand = seededRandom(seed);
  const stable: LatencyHistogram = {};
  const canary: LatencyHistogram = {};
  for (let t = 1; t <= seconds; t++) {
    const s = simulateSecond(rand, 400, 0.05, STABLE, { ...STABLE, medianMs: STABLE.medianMs * slowdown });
    mergeInto(stable, s.stable.latency);
    mergeInto(canary, s.canary.latency);
    if (compareLatency(stable, canary, tol, ALPHA).worse) return t;
  }
  return null;
}

describe('latency bands (Howard & Ramdas)', () => {
  it('has the published band width and shrinks like 1/sqrt(n)', () => {
    assert.ok(
      Math.abs(bandWidth(1000, 0.05) - 0.85 * Math.sqrt((Math.log(Math.log(Math.E * 1000)) + 0.8 * Math.log(1612 / 0.05)) / 1000)) < 1e-12,
    );
    assert.ok(bandWidth(4000, 0.05) < bandWidth(1000, 0.05) / 1.9);
    assert.equal(bandWidth(0, 0.05), 1);
  });
  it('does not flag an identical canary in 300 seeded releases', () => {
    let alarms = 0;
    for (let seed = 1; seed <= 300; seed++) if (secondsToWorse(seed, 30, 1) !== null) alarms++;
    assert.ok(alarms <= 300 * ALPHA + 3 * Math.sqrt(300 * ALPHA), `${alarms} false alarms`);
  });
  it('flags a canary 50% slower within a minute at 5% weight', (t) => {
    const times: number[] = [];
    for (let seed = 1; seed <= 20; seed++) times.push(secondsToWorse(seed, 60, 1.5) ?? Number.POSITIVE_INFINITY);
    times.sort((a, b) => a - b);
    t.diagnostic(`+50% latency at 5% of 400 rps: median ${times[10]}s`);
    assert.ok(times[10]! <= 60);
  });
  it('passes a canary that is no slower once samples are plentiful, and not a slower one', () => {
    const rand = seededRandom(3);
    const stable: LatencyHistogram = {};
    const same: LatencyHistogram = {};
    const slower: LatencyHistogram = {};
    for (let t = 0; t < 60; t++) {
      const s = simulateSecond(rand, 2000, 0.5, STABLE, STABLE);
      mergeInto(stable, s.stable.latency);
      mergeInto(same, s.canary.latency);
      mergeInto(slower, simulateSecond(rand, 2000, 0.5, STABLE, { ...STABLE, medianMs: 30 }).canary.latency);
    }
    assert.equal(compareLatency(stable, same, 0.2, ALPHA).noWorse, true);
    assert.equal(compareLatency(stable, slower, 0.2, ALPHA).noWorse, false);
    assert.equal(compareLatency(stable, slower, 0.2, ALPHA).worse, true);
  });
});
