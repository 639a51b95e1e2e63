import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  addCountWindow,
  emptyCountState,
  gridCeil,
  logEValueAbove,
  ratioBounds,
  ratioEstimate,
  type CountState,
} from './count-eprocess.js';
import { binomial, poisson, seededRandom } from './simulate.js';

const ALPHA = 0.01;

const NO_WORSE = gridCeil(1);
/** "ψ ≤ 1" rejected at level α: the canary shown worse than stable. */
const worse = (state: CountState) => logEValueAbove(state, NO_WORSE) >= Math.log(1 / ALPHA);

/** Runs one simulated release for `seconds`; returns the second at which "ψ ≤ 1" was rejected, or null. */
function run(seed: number, seconds: number, ratio: number, share = 0.05, rps = 1000, baseRate = 0.01): number | null {
  const rand = seededRandom(seed);
  let state: CountState = emptyCountState();
  for (let t = 1; t <= seconds; t++) {
    const nC = poisson(rand, rps * share);
    const nS = poisson(rand, rps * (1 - share));
    state = addCountWindow(state, {
      canaryRequests: nC,
      canaryErrors: binomial(rand, nC, baseRate * ratio),
      stableRequests: nS,
      stableErrors: binomial(rand, nS, baseRate),
    });
    if (worse(state)) return t;
  }
  return null;
}

describe('count e-process (errors, canary vs stable)', () => {
  it('keeps false alarms at or below α over 2,000 A/A releases watched every second', (t) => {
    let alarms = 0;
    for (let seed = 1; seed <= 2000; seed++) if (run(seed, 60, 1) !== null) alarms++;
    // α = 1%: 20 expected at most; allow three standard deviations of binomial noise.
    const allowed = 2000 * ALPHA + 3 * Math.sqrt(2000 * ALPHA * (1 - ALPHA));
    t.diagnostic(`A/A: ${alarms} false alarms in 2000 runs`);
    assert.ok(alarms <= allowed, `${alarms} false alarms in 2000 A/A runs (allowed ${allowed.toFixed(1)})`);
  });
  it('detects a 3x error-rate regression at 5% weight within a minute in most runs', (t) => {
    const times: number[] = [];
    for (let seed = 1; seed <= 200; seed++) times.push(run(seed, 120, 3) ?? Number.POSITIVE_INFINITY);
    times.sort((a, b) => a - b);
    const median = times[100]!;
    t.diagnostic(`3x regression at 5%: median ${median}s, p90 ${times[180]}s`);
    assert.ok(median <= 60, `median detection ${median}s`);
  });
  it('stays valid when the split changes between windows', () => {
    let alarms = 0;
    for (let seed = 1; seed <= 500; seed++) {
      const rand = seededRandom(seed);
      let state = emptyCountState();
      for (let t = 1; t <= 60; t++) {
        const share = t < 20 ? 0.05 : t < 40 ? 0.25 : 0.5;
        const nC = poisson(rand, 1000 * share);
        const nS = poisson(rand, 1000 * (1 - share));
        state = addCountWindow(state, {
          canaryRequests: nC,
          canaryErrors: binomial(rand, nC, 0.01),
          stableRequests: nS,
          stableErrors: binomial(rand, nS, 0.01),
        });
        if (worse(state)) {
          alarms++;
          break;
        }
      }
    }
    assert.ok(alarms <= 500 * ALPHA + 3 * Math.sqrt(500 * ALPHA), `${alarms} false alarms in 500 runs with a changing split`);
  });
  it('bounds the true ratio from both sides, narrowing with data', () => {
    const rand = seededRandom(7);
    let state = emptyCountState();
    let early = 0;
    for (let t = 1; t <= 300; t++) {
      const nC = poisson(rand, 200);
      const nS = poisson(rand, 800);
      state = addCountWindow(state, {
        canaryRequests: nC,
        canaryErrors: binomial(rand, nC, 0.04),
        stableRequests: nS,
        stableErrors: binomial(rand, nS, 0.02),
      });
      if (t === 10) early = ratioBounds(state, ALPHA).upper - ratioBounds(state, ALPHA).lower;
    }
    const v = ratioBounds(state, ALPHA);
    assert.ok(v.lower <= 2 && v.upper >= 2, `CS [${v.lower}, ${v.upper}] misses 2`);
    assert.ok(v.upper - v.lower < early, 'the interval narrows');
    const estimate = ratioEstimate(state);
    assert.ok(estimate !== null && Math.abs(estimate - 2) < 0.5);
  });
  it('is inconclusive without errors', () => {
    const state = addCountWindow(emptyCountState(), { canaryRequests: 50, canaryErrors: 0, stableRequests: 950, stableErrors: 0 });
    assert.equal(ratioEstimate(state), null);
    assert.ok(!worse(state));
    assert.deepEqual(ratioBounds(state, ALPHA), { lower: 0, upper: Number.POSITIVE_INFINITY });
  });
});
