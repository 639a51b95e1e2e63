/**
 * Renders nginx.conf for a routing table's structure: one server per host (plus a
 * default server for host-less services), locations per path prefix on segment boundaries
 * (`= /p` and `/p/`, longest prefix wins as in the gateway), one upstream with keep-alive per
 * (service, version), the gateway's forwarding headers, and a control server the agent probes.
 *
 * Only structure lives here — services, matches, endpoints, version labels, stickiness config is
 * NOT here: weights, salts, releases and rules are in the state files njs reads per request, so
 * changing them never reloads NGINX. Two tables with the same structure render the same text.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { DataPlaneUnsupportedError } from '../../../core/errors.js';
import type { RouteEntry } from '../../../core/types.js';
import { normaliseHost } from '../../../gateway/route-table.js';

export const NJS_MODULE = '/usr/lib/nginx/modules/ngx_http_js_module.so';

export interface NginxConfigOptions {
  /** Working directory: pid, logs, temp paths, the njs script, `live/` state files. */
  readonly dir: string;
  /** `host:port` for user traffic. */
  readonly listen: string;
  /** Loopback port of the control server (the agent's probe). */
  readonly controlPort: number;
  readonly workers: number;
  /** Write the evidence access log. */
  readonly evidence: boolean;
  /** Add `x-tern-version` naming the version that answered (as `tern gateway --expose-version-header`). */
  readonly exposeVersionHeader: boolean;
  /** Path of ngx_http_js_module.so (default the Debian one). */
  readonly njsModule?: string;
}

export const ACCESS_LOG = 'access.log';
export const LOG_FORMAT = '$msec $tern_log $status $request_time $upstream_response_time';
const SAFE_PATH = /^\/[A-Za-z0-9._~!&'()*+,=:@%/-]*$/;
const SAFE_HOST = /^[a-z0-9.-]+$/;

/** `host:port` of an endpoint for an upstream `server` line. @throws DataPlaneUnsupportedError for forms NGINX is not given here. */
export function upstreamServer(url: string, service: string): string {
  const u = new URL(url);
  if (u.protocol !== 'http:')
    throw new DataPlaneUnsupportedError(`nginx: service ${service}: endpoint ${url}: only http:// endpoints are rendered`);
  if (u.pathname !== '/' && u.pathname !== '')
    throw new DataPlaneUnsupportedError(`nginx: service ${service}: endpoint ${url}: a base path is not rendered`);
  return `${u.hostname}:${u.port === '' ? '80' : u.port}`;
}

function checkRoute(route: RouteEntry): void {
  const prefix = route.match.pathPrefix;
  if (prefix !== undefined && !SAFE_PATH.test(prefix))
    throw new DataPlaneUnsupportedError(
      `nginx: service ${route.service}: path prefix ${JSON.stringify(prefix)} has characters the config does not carry`,
    );
  if (route.match.host !== undefined && !SAFE_HOST.test(normaliseHost(route.match.host)))
    throw new DataPlaneUnsupportedError(
      `nginx: service ${route.service}: host ${JSON.stringify(route.match.host)} is not a plain DNS name`,
    );
}

function quote(text: string): string {
  return `"${text.replace(/["\\$]/g, (c) => (c === '$' ? '${dollar}' : `\\${c}`))}"`;
}

function upstream(name: string, endpoints: readonly string[], service: string): string {
  const servers = endpoints.map((e) => `    server ${upstreamServer(e, service)} max_fails=1 fail_timeout=10s;`).join('\n');
  return `  upstream ${name} {\n${servers}\n    keepalive 64;\n    keepalive_requests 100000;\n    keepalive_timeout 60s;\n  }`;
}

function locationBody(route: RouteEntry, opts: NginxConfigOptions): string {
  const lines = [
    `set $tern_svc ${route.service};`,
    `set $tern_canary ${route.canary === null ? 0 : 1};`,
    `proxy_pass http://tern_${route.service}_$tern_target;`,
    'add_header Set-Cookie $tern_issue always;',
  ];
  if (opts.exposeVersionHeader) lines.push('add_header X-Tern-Version $tern_version always;');
  lines.push(opts.evidence ? `access_log ${path.join(opts.dir, ACCESS_LOG)} tern buffer=64k flush=1s;` : 'access_log off;');
  return lines.map((l) => `      ${l}`).join('\n');
}

function locations(routes: readonly RouteEntry[], opts: NginxConfigOptions): string {
  const out: string[] = [];
  for (const route of routes) {
    const prefix = (route.match.pathPrefix ?? '').replace(/\/+$/, '');
    const body = locationBody(route, opts);
    if (prefix === '') out.push(`    location / {\n${body}\n    }`);
    else out.push(`    location = ${quote(prefix)} {\n${body}\n    }`, `    location ^~ ${quote(`${prefix}/`)} {\n${body}\n    }`);
  }
  if (!routes.some((r) => (r.match.pathPrefix ?? '').replace(/\/+$/, '') === '')) {
    out.push('    location / {\n      access_log off;\n      return 404 "no service matches this request\\n";\n    }');
  }
  return out.join('\n');
}

/** The routes a server for `host` carries: its own, then host-less ones whose prefix it does not shadow (the gateway's fallback). */
function routesForHost(host: string | null, routes: readonly RouteEntry[]): RouteEntry[] {
  const prefix = (r: RouteEntry): string => (r.match.pathPrefix ?? '').replace(/\/+$/, '');
  const own = routes.filter((r) =>
    host === null ? r.match.host === undefined : r.match.host !== undefined && normaliseHost(r.match.host) === host,
  );
  if (host === null) return own;
  const taken = new Set(own.map(prefix));
  return [...own, ...routes.filter((r) => r.match.host === undefined && !taken.has(prefix(r)))];
}

function maps(routes: readonly RouteEntry[]): string {
  const hostLines: string[] = [];
  const versionLines: string[] = [];
  for (const r of routes) {
    hostLines.push(`    ${quote(`${r.service}:s`)} ${quote(new URL(r.stable.endpoints[0]!).host)};`);
    versionLines.push(`    ${quote(`${r.service}:s`)} ${quote(r.stable.version)};`);
    if (r.canary !== null) {
      hostLines.push(`    ${quote(`${r.service}:c`)} ${quote(new URL(r.canary.endpoints[0]!).host)};`);
      versionLines.push(`    ${quote(`${r.service}:c`)} ${quote(r.canary.version)};`);
    }
  }
  return [
    `  map "$tern_svc:$tern_target" $tern_host {\n    default $host;\n${hostLines.join('\n')}\n  }`,
    `  map "$tern_svc:$tern_target" $tern_version {\n    default "";\n${versionLines.join('\n')}\n  }`,
  ].join('\n');
}

/** The structural body (everything but the generation line) for `routes`. @throws DataPlaneUnsupportedError */
function body(routes: readonly RouteEntry[], opts: NginxConfigOptions): string {
  const sorted = [...routes].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  sorted.forEach(checkRoute);
  const d = (name: string): string => path.join(opts.dir, name);
  const upstreams: string[] = [];
  for (const r of sorted) {
    if (r.stable.endpoints.length === 0)
      throw new DataPlaneUnsupportedError(`nginx: service ${r.service}: the stable version has no endpoints`);
    upstreams.push(upstream(`tern_${r.service}_s`, r.stable.endpoints, r.service));
    if (r.canary !== null && r.canary.endpoints.length > 0) upstreams.push(upstream(`tern_${r.service}_c`, r.canary.endpoints, r.service));
  }
  // A canary without endpoints cannot take traffic: njs sees tern_canary 0 and routes stable.
  const live = sorted.map((r) => (r.canary !== null && r.canary.endpoints.length === 0 ? { ...r, canary: null } : r));
  const hosts = [...new Set(live.flatMap((r) => (r.match.host === undefined ? [] : [normaliseHost(r.match.host)])))].sort();
  const servers = [
    `  server {\n    listen ${opts.listen} default_server;\n    server_name _;\n${locations(routesForHost(null, live), opts)}\n  }`,
    ...hosts.map((h) => `  server {\n    listen ${opts.listen};\n    server_name ${h};\n${locations(routesForHost(h, live), opts)}\n  }`),
  ];
  return `# Generated by tern agent nginx from the routing table's structure. Do not edit: the agent rewrites it.
load_module ${opts.njsModule ?? NJS_MODULE};
worker_processes ${opts.workers};
pid ${d('nginx.pid')};
error_log ${d('error.log')} warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
  server_tokens off;
  client_body_temp_path ${d('tmp/body')};
  proxy_temp_path ${d('tmp/proxy')};
  fastcgi_temp_path ${d('tmp/fastcgi')};
  uwsgi_temp_path ${d('tmp/uwsgi')};
  scgi_temp_path ${d('tmp/scgi')};
  geo $dollar { default "$"; }
  js_import tern from ${d('tern.js')};
  js_set $tern_target tern.pick;
  js_set $tern_issue tern.issue;
  js_set $tern_log tern.log;
  log_format tern '${LOG_FORMAT}';
  map $http_upgrade $tern_connection {
    default upgrade;
    "" "";
  }
${maps(live)}
  proxy_http_version 1.1;
  proxy_set_header Host $tern_host;
  proxy_set_header Connection $tern_connection;
  proxy_set_header Upgrade $http_upgrade;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto $scheme;
  proxy_set_header X-Forwarded-Host $http_host;
  proxy_set_header Via "$server_protocol tern";
  proxy_next_upstream error timeout;
  proxy_next_upstream_tries 2;
  proxy_read_timeout 300s;
${upstreams.join('\n')}
${servers.join('\n')}
  server {
    listen 127.0.0.1:${opts.controlPort};
    location = /tern/applied {
      access_log off;
      set $tern_conf @GEN@;
      js_content tern.applied;
    }
    location = /tern/bucket {
      access_log off;
      set $tern_svc "";
      set $tern_canary 0;
      js_content tern.bucket;
    }
  }
}
`;
}

/** nginx.conf for `routes` and its generation (a hash of the text, which the control server reports). */
export function renderNginxConfig(routes: readonly RouteEntry[], opts: NginxConfigOptions): { text: string; generation: string } {
  const text = body(routes, opts);
  const generation = createHash('sha256').update(text).digest('hex').slice(0, 16);
  return { text: text.replace('@GEN@', generation), generation };
}
