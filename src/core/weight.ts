/**
 * Canary weight: percent (0..100, at most two decimals) in the API, basis points (0..10000) inside.
 */
import { ValidationError } from './errors.js';

export const FULL_WEIGHT = 10_000;

/**
 * Percent to basis points.
 * @throws ValidationError (TERN_INVALID_WEIGHT) when not a number in 0..100 with at most two decimals.
 */
export function percentToBps(percent: unknown, field = 'weight'): number {
  if (typeof percent !== 'number' || !Number.isFinite(percent)) {
    throw new ValidationError(field, `expected a number of percent from 0 to 100, got ${JSON.stringify(percent)}`, 'TERN_INVALID_WEIGHT');
  }
  if (percent < 0 || percent > 100) {
    throw new ValidationError(field, `weight ${percent} is out of range; accepted: 0 to 100 (percent)`, 'TERN_INVALID_WEIGHT');
  }
  const bps = Math.round(percent * 100);
  if (Math.abs(bps - percent * 100) > 1e-6) {
    throw new ValidationError(field, `weight ${percent} has more than two decimals; the finest step is 0.01%`, 'TERN_INVALID_WEIGHT');
  }
  return bps;
}

export function bpsToPercent(bps: number): number {
  return bps / 100;
}
