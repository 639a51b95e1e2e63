import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  bucketOf,
  bucketValue,
  cdf,
  mergeInto,
  quantile,
  record,
  RELATIVE_ERROR,
  totalCount,
  type LatencyHistogram,
} from './latency-histogram.js';

/** A small seeded PRNG so the test is repeatable. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
}

describe('latency histogram', () => {
  it('represents every value within the documented 1% relative error', () => {
    assert.equal(RELATIVE_ERROR, 0.01);
    for (let ms = 0.002; ms < 600_000; ms *= 1.137) {
      const rel = Math.abs(bucketValue(bucketOf(ms)) - ms) / ms;
      assert.ok(rel <= RELATIVE_ERROR + 1e-12, `${ms} ms -> ${bucketValue(bucketOf(ms))} (${rel})`);
    }
  });
  it('answers quantiles of a log-normal sample within 1% of the exact ones', () => {
    const rand = lcg(42);
    const values: number[] = [];
    const h: LatencyHistogram = {};
    for (let i = 0; i < 20_000; i++) {
      const z = Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
      const v = Math.exp(3 + 0.6 * z);
      values.push(v);
      record(h, v);
    }
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const exact = values[Math.ceil(q * values.length) - 1]!;
      const approx = quantile(h, q)!;
      assert.ok(Math.abs(approx - exact) / exact <= RELATIVE_ERROR + 1e-12, `q${q}: ${approx} vs ${exact}`);
    }
    assert.equal(totalCount(h), 20_000);
  });
  it('merges by adding buckets, giving the same answer as one histogram of all values', () => {
    const a: LatencyHistogram = {};
    const b: LatencyHistogram = {};
    const all: LatencyHistogram = {};
    for (let i = 1; i <= 1000; i++) {
      record(i % 2 ? a : b, i / 10);
      record(all, i / 10);
    }
    assert.deepEqual(mergeInto({ ...a }, b), all);
    assert.equal(quantile(mergeInto({ ...a }, b), 0.5), quantile(all, 0.5));
  });
  it('handles empty and tiny values', () => {
    assert.equal(quantile({}, 0.5), null);
    const h: LatencyHistogram = {};
    record(h, 0);
    record(h, 0.0001);
    assert.equal(totalCount(h), 2);
    assert.equal(cdf(h, 1), 1);
    assert.equal(cdf({}, 1), 0);
  });
});
