/**
 * Compiles a RoutingTable once per table version into what the hot path needs: a host map of
 * path-prefix maps (host exact match first, then host-less routes; longest prefix wins, on
 * path-segment boundaries), match-rule regexes compiled (linear-time engine, core/rule-regex.ts),
 * endpoints resolved to their pools.
 *
 * The gateway holds the compiled table in one reference and swaps it in one assignment; a
 * request reads that reference once, so it finishes on the table and endpoint it started with.
 * Compilation validates everything first and throws before touching the endpoint registry,
 * so a bad table never half-applies.
 */
import { ValidationError } from '../core/errors.js';
import { checkRulesBudget, compileRulePattern } from '../core/rule-regex.js';
import type { BucketHash, MatchRule, RouteEntry, RoutingTable } from '../core/types.js';
import { parseEndpointUrl, type Endpoint, type EndpointRegistry } from './endpoints.js';

export const DEFAULT_STICKY_COOKIE = 'tern_uid';

export interface CompiledRule {
  readonly source: 'header' | 'cookie';
  /** Header name (lower-case) or cookie name. */
  readonly name: string;
  readonly test: (value: string) => boolean;
  readonly target: 'canary' | 'stable';
  /** Per-character matching cost (RE2 instructions); 0 for equals and presence rules. */
  readonly cost: number;
}

export interface CompiledVersion {
  readonly label: string;
  readonly endpoints: readonly Endpoint[];
  /** Round-robin cursor; per table version, which is fine: balance, not stickiness. */
  cursor: number;
}

export interface CompiledCanary extends CompiledVersion {
  readonly weight: number;
  readonly salt: string;
  readonly releaseId: string;
  /** The release's bucket hash; 'murmur3' when the table does not say (tables from before migration 8). */
  readonly bucketHash: BucketHash;
}

export interface CompiledRoute {
  readonly service: string;
  /** Lower-case header carrying the user key, or null. */
  readonly stickyHeader: string | null;
  /** Cookie carrying (and issued with) the user key, or null when cookies are off. */
  readonly stickyCookie: string | null;
  readonly rules: readonly CompiledRule[];
  readonly stable: CompiledVersion;
  readonly canary: CompiledCanary | null;
}

export interface CompiledTable {
  readonly version: number;
  readonly source: RoutingTable;
  /** The route for a request's Host header and path (path may carry a query), or null. */
  match(host: string | undefined, path: string): CompiledRoute | null;
}

/** Lower-case host without port; handles `[v6]:port`. */
export function normaliseHost(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

function normalisePrefix(prefix: string | undefined): string {
  return (prefix ?? '').replace(/\/+$/, '');
}

function lookup(prefixes: ReadonlyMap<string, CompiledRoute>, path: string): CompiledRoute | null {
  let end = path.length;
  const q = path.indexOf('?');
  if (q !== -1) end = q;
  let p = path.slice(0, end);
  for (;;) {
    const hit = prefixes.get(p);
    if (hit) return hit;
    if (p === '') return null;
    p = p.slice(0, p.lastIndexOf('/') === -1 ? 0 : p.lastIndexOf('/'));
  }
}

function compileRule(rule: MatchRule, field: string): CompiledRule {
  const source = rule.header !== undefined ? 'header' : rule.cookie !== undefined ? 'cookie' : null;
  if (source === null) throw new ValidationError(field, 'a match rule needs a header or a cookie');
  if (rule.target !== 'canary' && rule.target !== 'stable') throw new ValidationError(`${field}.target`, 'expected "canary" or "stable"');
  const name = source === 'header' ? rule.header!.toLowerCase() : rule.cookie!;
  let test: (value: string) => boolean;
  let cost = 0;
  if (rule.equals !== undefined) {
    const expected = rule.equals;
    test = (v) => v === expected;
  } else if (rule.regex !== undefined) {
    // Linear-time engine, bounded input (core/rule-regex.ts): a client-chosen value never costs more than the budget.
    ({ test, cost } = compileRulePattern(rule.regex, `${field}.regex`));
  } else {
    test = () => true; // presence alone: the operator wrote it, so it is allowed to pick.
  }
  return { source, name, test, target: rule.target, cost };
}

function checkEndpoints(entry: RouteEntry, field: string): void {
  entry.stable.endpoints.forEach((url, i) => parseEndpointUrl(url, `${field}.stable.endpoints[${i}]`));
  entry.canary?.endpoints.forEach((url, i) => parseEndpointUrl(url, `${field}.canary.endpoints[${i}]`));
  const w = entry.canary?.weight;
  if (w !== undefined && !(Number.isInteger(w) && w >= 0 && w <= 10_000)) {
    throw new ValidationError(`${field}.canary.weight`, `expected basis points 0..10000, got ${String(w)}`, 'TERN_INVALID_WEIGHT');
  }
}

function compileRoute(entry: RouteEntry, field: string, registry: EndpointRegistry): CompiledRoute {
  const resolve = (urls: readonly string[]): Endpoint[] => urls.map((u) => registry.acquire(u));
  const { canary } = entry;
  return {
    service: entry.service,
    stickyHeader: entry.stickiness.header ? entry.stickiness.header.toLowerCase() : null,
    stickyCookie: entry.stickiness.cookie === '' ? null : (entry.stickiness.cookie ?? DEFAULT_STICKY_COOKIE),
    rules: entry.rules.map((r, i) => compileRule(r, `${field}.rules[${i}]`)),
    stable: { label: entry.stable.version, endpoints: resolve(entry.stable.endpoints), cursor: 0 },
    canary: canary
      ? {
          label: canary.version,
          endpoints: resolve(canary.endpoints),
          cursor: 0,
          weight: canary.weight,
          salt: canary.salt,
          releaseId: canary.releaseId,
          bucketHash: canary.bucketHash ?? 'murmur3',
        }
      : null,
  };
}

/** Validates a table without side effects. @throws ValidationError naming the bad field. */
export function validateTable(table: RoutingTable): void {
  const seen = new Set<string>();
  table.routes.forEach((entry, i) => {
    const field = `routes[${i}]`;
    if (entry.match.host === undefined && entry.match.pathPrefix === undefined) {
      throw new ValidationError(`${field}.match`, 'a service needs a host and/or a path prefix');
    }
    const key = `${entry.match.host === undefined ? '' : normaliseHost(entry.match.host)} ${normalisePrefix(entry.match.pathPrefix)}`;
    if (seen.has(key)) throw new ValidationError(`${field}.match`, `another service already matches ${key.trim() || '/'}`);
    seen.add(key);
    checkEndpoints(entry, field);
    checkRulesBudget(
      entry.rules.map((r, j) => ({ field: `${field}.rules[${j}].regex`, cost: compileRule(r, `${field}.rules[${j}]`).cost })),
    );
  });
}

/**
 * Compiles `table`, acquiring its endpoints from `registry` and retiring the ones it drops.
 * @throws ValidationError (before any side effect) when the table is inconsistent.
 */
export function compileTable(table: RoutingTable, registry: EndpointRegistry): CompiledTable {
  validateTable(table);
  const byHost = new Map<string, Map<string, CompiledRoute>>();
  const anyHost = new Map<string, CompiledRoute>();
  const urls = new Set<string>();
  table.routes.forEach((entry, i) => {
    const route = compileRoute(entry, `routes[${i}]`, registry);
    for (const e of [...route.stable.endpoints, ...(route.canary?.endpoints ?? [])]) urls.add(e.url);
    let prefixes = anyHost;
    if (entry.match.host !== undefined) {
      const host = normaliseHost(entry.match.host);
      prefixes = byHost.get(host) ?? new Map<string, CompiledRoute>();
      byHost.set(host, prefixes);
    }
    prefixes.set(normalisePrefix(entry.match.pathPrefix), route);
  });
  registry.retainOnly(urls);
  return {
    version: table.version,
    source: table,
    match(host, path) {
      const scoped = host === undefined || byHost.size === 0 ? undefined : byHost.get(normaliseHost(host));
      return (scoped && lookup(scoped, path)) ?? lookup(anyHost, path);
    },
  };
}
