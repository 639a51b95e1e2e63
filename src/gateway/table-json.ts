/**
 * Checks the shape of a RoutingTable that arrives as JSON (from the control plane or the state
 * file) before it is compiled: the gateway trusts neither a network peer nor a disk blindly.
 * Semantic checks (URLs, regexes, duplicate matches) are compileTable's job.
 */
import { ValidationError } from '../core/errors.js';
import { BUCKET_HASHES } from '../core/sticky.js';
import type { BucketHash, RoutingTable } from '../core/types.js';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function need(ok: boolean, field: string, what: string): void {
  if (!ok) throw new ValidationError(field, `expected ${what}`);
}

function optionalString(o: Json, key: string, field: string): void {
  need(o[key] === undefined || typeof o[key] === 'string', `${field}.${key}`, 'a string when present');
}

function checkVersionSpec(v: unknown, field: string): void {
  need(isObject(v), field, 'an object');
  const o = v as Json;
  need(typeof o.version === 'string', `${field}.version`, 'a string');
  need(Array.isArray(o.endpoints) && o.endpoints.every((e) => typeof e === 'string'), `${field}.endpoints`, 'an array of URLs');
}

function checkRoute(r: unknown, field: string): void {
  need(isObject(r), field, 'an object');
  const o = r as Json;
  need(typeof o.service === 'string', `${field}.service`, 'a string');
  need(isObject(o.match), `${field}.match`, 'an object');
  optionalString(o.match as Json, 'host', `${field}.match`);
  optionalString(o.match as Json, 'pathPrefix', `${field}.match`);
  need(isObject(o.stickiness), `${field}.stickiness`, 'an object');
  optionalString(o.stickiness as Json, 'header', `${field}.stickiness`);
  optionalString(o.stickiness as Json, 'cookie', `${field}.stickiness`);
  need(Array.isArray(o.rules) && o.rules.every(isObject), `${field}.rules`, 'an array of rules');
  checkVersionSpec(o.stable, `${field}.stable`);
  if (o.canary !== null && o.canary !== undefined) {
    checkVersionSpec(o.canary, `${field}.canary`);
    const c = o.canary as Json;
    need(typeof c.weight === 'number', `${field}.canary.weight`, 'a number of basis points');
    need(typeof c.salt === 'string' && typeof c.releaseId === 'string', `${field}.canary`, 'salt and releaseId strings');
    // Absent: a table from before migration 8 (murmur3). An unknown hash is refused, never guessed:
    // routing users by the wrong formula would move them between versions.
    need(
      c.bucketHash === undefined || BUCKET_HASHES.includes(c.bucketHash as BucketHash),
      `${field}.canary.bucketHash`,
      `one of ${BUCKET_HASHES.join(', ')} when present`,
    );
  }
}

/**
 * Returns `value` typed as a RoutingTable after checking its shape.
 * @throws ValidationError naming the first field that does not fit.
 */
export function parseRoutingTable(value: unknown): RoutingTable {
  need(isObject(value), '', 'a routing table object');
  const o = value as Json;
  need(typeof o.version === 'number' && Number.isInteger(o.version) && o.version >= 0, 'version', 'a non-negative integer');
  need(Array.isArray(o.routes), 'routes', 'an array');
  // The control plane states its weight unit; the gateway compares buckets in basis points.
  need(o.weightScale === undefined || o.weightScale === 10_000, 'weightScale', 'basis points (10000)');
  (o.routes as unknown[]).forEach((r, i) => checkRoute(r, `routes[${i}]`));
  const routes = (o.routes as Json[]).map((r) => ({ ...r, canary: r.canary ?? null }));
  return { version: o.version as number, routes } as unknown as RoutingTable;
}
