/**
 * Renders an HAProxy 2.6 configuration for a routing table: a frontend
 * that picks the service by host and path prefix (as the built-in gateway's route table does:
 * host routes first, longest prefix on path-segment boundaries, then host-less routes), then
 * the version — operator rules first, then the sticky bucket
 * `xxh32(salt ‖ userKey) mod 10000 < weight` computed natively by HAProxy's converters.
 *
 * Everything a release changes lives outside the configuration's structure, so neither a step
 * nor a release's start or end reloads HAProxy (a reload closes every idle user connection, and
 * all users reconnect at once):
 * - weight, salt, the values and targets of `equals` rules live in map files the running HAProxy
 *   updates over its runtime API (`set map`, `prepare/add/commit map`);
 * - every service has a canary backend and the bucket decision whether or not a release runs
 *   (weight -1: no canary), and servers are added and removed at runtime (`add server`,
 *   `del server`: HAProxy 2.6 dynamic servers), named by their endpoint so that a reload of the
 *   written config creates the very servers the runtime changes made.
 * `structure` is the config without its server lines: two tables with the same structure need
 * no reload. What still reloads: a new or removed service, a changed match or rule header, a
 * changed base path. The config is a template string here, written into the agent's working
 * directory (files shipped are dist/ only).
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../../../core/errors.js';
import type { MatchRule, RouteEntry, RoutingTable } from '../../../core/types.js';
import { parseEndpointUrl } from '../../../gateway/endpoints.js';
import { DEFAULT_KEEPALIVE_TIMEOUT_MS } from '../../../gateway/limits.js';
import { DEFAULT_STICKY_COOKIE, normaliseHost, validateTable } from '../../../gateway/route-table.js';
import { HaproxyUnsupportedError } from './errors.js';

/** Cookie lifetime: 400 days, as the built-in gateway issues it (RFC 6265bis §5.5). */
const COOKIE_MAX_AGE_S = 400 * 24 * 3600;

export interface RenderOptions {
  /** Absolute working directory: map files, sockets, pid file live here. */
  readonly dir: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** UDP port of the agent's syslog receiver for sampled latency; null = no log. */
  readonly logPort: number | null;
  /** Log one request in `sampleEvery` (HAProxy `sample 1:N`). */
  readonly sampleEvery: number;
  /** Active health check path on every server; none = passive only. */
  readonly healthPath?: string;
  /** How long an idle keep-alive client connection is kept (default: `tern gateway`'s, 75 s). */
  readonly keepAliveTimeoutMs?: number;
  /** HAProxy `nbthread`; default HAProxy's own (one per CPU it may run on). */
  readonly threads?: number;
}

/** The map files and their entries (key → value), in file order. */
export type MapFiles = ReadonlyMap<string, ReadonlyArray<readonly [string, string]>>;

/** Which backend carries which version of which service: the evidence's key. */
export interface BackendInfo {
  readonly backend: string;
  readonly service: string;
  readonly role: 'stable' | 'canary';
}

/** One server line: what `add server` needs to create it at runtime. */
export interface ServerSpec {
  /** `e` + a digest of the endpoint URL: the same endpoint gets the same name in every rendering. */
  readonly name: string;
  /** IP address or host name, without brackets. */
  readonly host: string;
  readonly port: number;
  /** Everything after the address (health check, TLS), with a leading space or empty. */
  readonly options: string;
  /** Whether `options` holds an active health check (`enable health` after `add server`). */
  readonly check: boolean;
}

export interface Rendered {
  readonly config: string;
  /** The config without its server lines: equal for two tables exactly when no reload is needed. */
  readonly structure: string;
  /** Backend → its servers, for runtime changes within the same structure. */
  readonly servers: ReadonlyMap<string, readonly ServerSpec[]>;
  /** Map file name (inside `dir`) → entries. */
  readonly maps: MapFiles;
  readonly backends: readonly BackendInfo[];
}

export const WEIGHTS_MAP = 'weights.map';
export const SALTS_MAP = 'salts.map';
/** The log line format: `tern <backend> <status> <Ta ms>`, sent raw (no syslog header). */
export const LOG_PREFIX = 'tern';

/** A run of consecutive rules reading the same header or cookie the same way. */
interface RuleRun {
  readonly source: 'header' | 'cookie';
  readonly name: string;
  readonly kind: 'equals' | 'presence';
  readonly rules: readonly MatchRule[];
}

/** Map keys and rule values: one word HAProxy's map files and CLI take verbatim. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be kept out
const SAFE_VALUE = /^[^\s\\;#"'\u0000-\u001f\u007f]+$/u;
const SAFE_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

function runsOf(entry: RouteEntry, field: string): RuleRun[] {
  const runs: Array<{ source: 'header' | 'cookie'; name: string; kind: 'equals' | 'presence'; rules: MatchRule[] }> = [];
  entry.rules.forEach((rule, i) => {
    if (rule.regex !== undefined)
      throw new HaproxyUnsupportedError(`${field}.rules[${i}]`, 'regex match rules are not supported by the HAProxy data plane');
    const source = rule.header !== undefined ? 'header' : 'cookie';
    const name = source === 'header' ? rule.header!.toLowerCase() : rule.cookie!;
    if (!SAFE_NAME.test(name)) throw new HaproxyUnsupportedError(`${field}.rules[${i}]`, `"${name}" is not a plain header or cookie name`);
    if (rule.equals !== undefined && !SAFE_VALUE.test(rule.equals))
      throw new HaproxyUnsupportedError(
        `${field}.rules[${i}].equals`,
        'the HAProxy data plane matches one word without spaces, quotes, backslashes, ";" or "#"',
      );
    const kind = rule.equals !== undefined ? 'equals' : 'presence';
    const last = runs.at(-1);
    if (last && last.source === source && last.name === name && last.kind === kind && kind === 'equals') last.rules.push(rule);
    else runs.push({ source, name, kind, rules: [rule] });
  });
  return runs;
}

function cookieName(entry: RouteEntry): string | null {
  return entry.stickiness.cookie === '' ? null : (entry.stickiness.cookie ?? DEFAULT_STICKY_COOKIE);
}

function sample(source: 'header' | 'cookie', name: string): string {
  return source === 'header' ? `req.fhdr(${name},1)` : `req.cook(${name})`;
}

/** Routes in match order: host routes before host-less, longest prefix first (the built-in gateway's lookup). */
function matchOrder(table: RoutingTable): Array<{ entry: RouteEntry; id: string }> {
  const withId = table.routes.map((entry, i) => ({ entry, id: `s${i}` }));
  const prefix = (e: RouteEntry): string => (e.match.pathPrefix ?? '').replace(/\/+$/, '');
  return withId.sort((a, b) => {
    const ha = a.entry.match.host === undefined ? 1 : 0;
    const hb = b.entry.match.host === undefined ? 1 : 0;
    return ha - hb || prefix(b.entry).length - prefix(a.entry).length;
  });
}

function matchLines(entry: RouteEntry, id: string): string[] {
  const lines: string[] = [];
  const conds = [`!has_svc`];
  if (entry.match.host !== undefined) {
    lines.push(`  acl h_${id} var(txn.host) -m str ${normaliseHost(entry.match.host)}`);
    conds.push(`h_${id}`);
  }
  const prefix = (entry.match.pathPrefix ?? '').replace(/\/+$/, '');
  if (prefix !== '') {
    if (!SAFE_VALUE.test(prefix)) throw new HaproxyUnsupportedError('match.pathPrefix', `"${prefix}" is not a plain path`);
    lines.push(`  acl p_${id} path -m str ${prefix}`, `  acl p_${id} path -m beg ${prefix}/`);
    conds.push(`p_${id}`);
  }
  lines.push(`  http-request set-var(txn.svc) str(${id}) if ${conds.join(' ')}`);
  return lines;
}

/** The per-service decision: rules, then the user key, then the bucket. */
function decisionLines(entry: RouteEntry, id: string, runs: readonly RuleRun[], opts: RenderOptions): string[] {
  const on = `is_${id} !has_t`;
  const lines = [`  acl is_${id} var(txn.svc) -m str ${id}`];
  runs.forEach((run, r) => {
    const s = sample(run.source, run.name);
    if (run.kind === 'equals') lines.push(`  http-request set-var(txn.t) ${s},map_str(${opts.dir}/rules-${id}-${r}.map) if ${on}`);
    else lines.push(`  http-request set-var(txn.t) str(${run.rules[0]!.target}) if ${on} { ${s} -m found }`);
  });
  const cookie = cookieName(entry);
  const header = entry.stickiness.header?.toLowerCase();
  if (header) lines.push(`  http-request set-var(txn.key) req.fhdr(${header},1) if ${on} { req.fhdr(${header},1) -m len gt 0 }`);
  if (cookie !== null) {
    lines.push(
      `  http-request set-var(txn.key) req.cook(${cookie}) if ${on} !has_key { req.cook(${cookie}) -m len gt 0 }`,
      // No key yet: mint one, key this very request by it and issue it with the answer.
      `  http-request set-var(txn.issue) str(${id}) if ${on} !has_key`,
      `  http-request set-var(txn.key) uuid() if ${on} !has_key`,
    );
  } else lines.push(`  http-request set-var(txn.key) src if ${on} !has_key`);
  // Rendered for every service, release or not (weight -1 in the map: none), so a release's start adds no structure.
  lines.push(
    `  http-request set-var(txn.w) str(${id}),map_str_int(${opts.dir}/${WEIGHTS_MAP},-1) if is_${id}`,
    `  http-request set-var(txn.salt) str(${id}),map_str(${opts.dir}/${SALTS_MAP}) if ${on} { var(txn.w) -m int gt 0 }`,
    // bucket - weight < 0  ⇔  bucket < weight (the canary); xxh32 over the UTF-8 bytes of salt ‖ key.
    `  http-request set-var(txn.c) var(txn.salt),concat(,txn.key,),xxh32,mod(10000),sub(txn.w) if ${on} { var(txn.w) -m int gt 0 }`,
    `  http-request set-var(txn.t) str(canary) if ${on} { var(txn.c) -m int lt 0 }`,
  );
  return lines;
}

/**
 * Idle upstream connections kept for reuse: a server from the config has these by default, one
 * created by `add server` keeps none (a new connection, and TLS handshake, per request).
 */
const POOL = ' pool-max-conn -1 pool-purge-delay 5s';

/** A server name HAProxy accepts, the same for the same endpoint (the n-th repeat of a URL gets its own). */
function serverName(url: string, repeat: number): string {
  return `e${createHash('sha256').update(`${url}#${repeat}`).digest('hex').slice(0, 16)}`;
}

function serverSpecs(urls: readonly string[], field: string, opts: RenderOptions): { base: string; servers: ServerSpec[] } {
  const parsed = urls.map((u, i) => parseEndpointUrl(u, `${field}[${i}]`));
  const base = parsed[0]?.basePath ?? '';
  if (parsed.some((p) => p.basePath !== base))
    throw new HaproxyUnsupportedError(field, 'the HAProxy data plane needs one base path for all endpoints of a version');
  if (base !== '' && !SAFE_VALUE.test(base)) throw new HaproxyUnsupportedError(field, `"${base}" is not a plain path`);
  const seen = new Map<string, number>();
  const servers = parsed.map((p, i): ServerSpec => {
    const repeat = seen.get(urls[i]!) ?? 0;
    seen.set(urls[i]!, repeat + 1);
    const check = opts.healthPath !== undefined;
    // `check-ssl`: a server created by `add server` checks in cleartext even with `ssl` (one from the config does not).
    const tls = p.tls ? ` ssl verify required ca-file @system-ca sni str(${p.hostname})${check ? ' check-ssl' : ''}` : '';
    return {
      name: serverName(urls[i]!, repeat),
      host: p.hostname,
      port: p.port,
      options: `${POOL}${check ? ' check inter 2s fall 2 rise 1' : ''}${tls}`,
      check,
    };
  });
  return { base, servers };
}

/** `host:port` as HAProxy's config and `add server` take it (IPv6 in brackets). */
export function serverAddress(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

const SERVER_LINE = '  server ';

function backendBlock(name: string, base: string, servers: readonly ServerSpec[], opts: RenderOptions): string[] {
  const lines = [`backend ${name}`, '  balance roundrobin'];
  if (opts.healthPath !== undefined) lines.push(`  option httpchk GET ${opts.healthPath}`);
  if (base !== '') lines.push(`  http-request set-path ${base}%[path]`);
  for (const s of servers) lines.push(`${SERVER_LINE}${s.name} ${serverAddress(s.host, s.port)}${s.options}`);
  return [...lines, ''];
}

function header(opts: RenderOptions): string[] {
  const log = opts.logPort === null ? [] : [`  log 127.0.0.1:${opts.logPort} len 512 format raw sample 1:${opts.sampleEvery} local0 info`];
  const host = opts.listen.host.includes(':') ? `[${opts.listen.host}]` : opts.listen.host;
  const keepAliveMs = opts.keepAliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS;
  return [
    '# Written by tern agent haproxy: do not edit (the agent rewrites it on every structural change).',
    'global',
    `  stats socket ${opts.dir}/admin.sock mode 600 level admin expose-fd listeners`,
    '  stats timeout 30s',
    `  pidfile ${opts.dir}/haproxy.pid`,
    '  hard-stop-after 60s',
    ...(opts.threads === undefined ? [] : [`  nbthread ${opts.threads}`]),
    ...log,
    '',
    'defaults',
    '  mode http',
    ...(opts.logPort === null ? [] : ['  log global', `  log-format "${LOG_PREFIX} %b %ST %Ta"`]),
    '  option dontlognull',
    '  timeout connect 5s',
    // HAProxy closes an idle keep-alive connection at the shorter of these two.
    `  timeout client ${Math.max(60_000, keepAliveMs)}ms`,
    '  timeout server 60s',
    '  timeout http-request 10s',
    `  timeout http-keep-alive ${keepAliveMs}ms`,
    '  timeout tunnel 1h', // WebSocket and other upgraded connections
    '  retries 2',
    '  option redispatch 1',
    '',
    'frontend tern',
    `  bind ${host}:${opts.listen.port}`,
    '  acl has_svc var(txn.svc) -m found',
    '  acl has_t var(txn.t) -m found',
    '  acl has_key var(txn.key) -m found',
    '  http-request set-var(txn.host) req.hdr(host),host_only,lower',
  ];
}

/**
 * Renders config and map files for `table`.
 * @throws ValidationError for an inconsistent table; HaproxyUnsupportedError for what HAProxy cannot execute here.
 */
export function renderConfig(table: RoutingTable, opts: RenderOptions): Rendered {
  validateTable(table);
  const maps = new Map<string, Array<readonly [string, string]>>([
    // Salts before weights: the runtime API is given them in this order (router.ts #updateMaps).
    [SALTS_MAP, []],
    [WEIGHTS_MAP, []],
  ]);
  const backends: BackendInfo[] = [];
  const servers = new Map<string, ServerSpec[]>();
  const front = header(opts);
  const decide: string[] = [];
  const use: string[] = [];
  const blocks: string[] = [];
  const ordered = matchOrder(table);
  for (const { entry, id } of ordered) front.push(...matchLines(entry, id));
  front.push('  http-request return status 404 content-type text/plain string "no service matches this request" if !has_svc');
  for (const { entry, id } of ordered) {
    const field = `routes[${id.slice(1)}]`;
    const runs = runsOf(entry, field);
    runs.forEach((run, r) => {
      if (run.kind !== 'equals') return;
      const seen = new Set<string>();
      const entries: Array<readonly [string, string]> = [];
      // First match wins within a run, as in the rule list.
      for (const rule of run.rules) {
        if (seen.has(rule.equals!)) continue;
        seen.add(rule.equals!);
        entries.push([rule.equals!, rule.target]);
      }
      maps.set(`rules-${id}-${r}.map`, entries);
    });
    decide.push(...decisionLines(entry, id, runs, opts));
    const cookie = cookieName(entry);
    if (cookie !== null)
      decide.push(
        `  http-response add-header Set-Cookie "${cookie}=%[var(txn.key)]; Max-Age=${COOKIE_MAX_AGE_S}; Path=/; HttpOnly; SameSite=Lax" if { var(txn.issue) -m str ${id} }`,
      );
    const canary = entry.canary;
    if (canary !== null) {
      if (bucketHashOf(entry) !== 'xxh32')
        throw new HaproxyUnsupportedError(
          `${field}.canary.bucketHash`,
          `HAProxy computes the xxh32 sticky bucket, not ${bucketHashOf(entry)}`,
        );
      if (!SAFE_VALUE.test(canary.salt)) throw new ValidationError(`${field}.canary.salt`, 'a salt is one word of base64url');
    }
    maps.get(WEIGHTS_MAP)!.push([id, String(canary?.weight ?? -1)]);
    maps.get(SALTS_MAP)!.push([id, canary?.salt ?? '-']);
    // A rule naming the canary sends users there only while a release runs (weight ≥ 0), as in the built-in gateway.
    use.push(`  use_backend ${id}_canary if is_${id} { var(txn.t) -m str canary } { var(txn.w) -m int ge 0 }`);
    use.push(`  use_backend ${id}_stable if is_${id}`);
    const versions = [
      { role: 'canary' as const, urls: canary?.endpoints ?? [], at: `${field}.canary.endpoints` },
      { role: 'stable' as const, urls: entry.stable.endpoints, at: `${field}.stable.endpoints` },
    ];
    for (const v of versions) {
      const name = `${id}_${v.role}`;
      const specs = serverSpecs(v.urls, v.at, opts);
      blocks.push(...backendBlock(name, specs.base, specs.servers, opts));
      servers.set(name, specs.servers);
      backends.push({ backend: name, service: entry.service, role: v.role });
    }
  }
  const lines = [...front, ...decide, ...use, '', ...blocks];
  const config = lines.join('\n') + '\n';
  const structure = lines.filter((l) => !l.startsWith(SERVER_LINE)).join('\n') + '\n';
  return { config, structure, servers, maps, backends };
}

/** A map file's text: `key value` lines. */
export function mapFileText(entries: ReadonlyArray<readonly [string, string]>): string {
  return entries.map(([k, v]) => `${k} ${v}\n`).join('');
}

/** Whether the table needs HAProxy to compute a sticky hash it cannot: only xxh32 is native. */
export function bucketHashOf(entry: RouteEntry): string {
  return (entry.canary as { readonly bucketHash?: string } | null)?.bucketHash ?? 'murmur3';
}
