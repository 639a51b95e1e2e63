/**
 * Configuration templates for the data-plane bench's own daemons: the two NGINX backends
 * (`return 200`, each with a stub_status counter on a second port), plain HAProxy with a static
 * 95/5 weighted split (a) and NGINX `split_clients` 95/5 on the user header (c). Each daemon gets
 * its own directory (pid, logs, temp paths inside it) and runs in the foreground.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The request header carrying the user key (wrk's Lua script sets it; every split keys on it). */
export const USER_HEADER = 'x-user-id';

/** The `nginx` arguments for a configuration written to `<dir>/nginx.conf`. */
export function writeNginx(dir: string, httpBody: string): string[] {
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${httpBody}
}
`,
  );
  return ['-p', dir, '-c', conf, '-e', path.join(dir, 'logs', 'error.log')];
}

/** A backend answering `return 200 "<name>\n"` on `port` and its stub_status on `statusPort`. */
export function backendBody(name: string, port: number, statusPort: number): string {
  return `  server { listen 127.0.0.1:${port} backlog=4096; location / { return 200 "${name}\\n"; } }
  server { listen 127.0.0.1:${statusPort}; location / { stub_status; } }`;
}

/** (c) NGINX split_clients: 5% of user keys to the canary, upstream keep-alive both ways. */
export function nginxSplitBody(port: number, stablePort: number, canaryPort: number): string {
  const variable = `$http_${USER_HEADER.replaceAll('-', '_')}`;
  return `  split_clients "bench${variable}" $pool { 5% canary; * stable; }
  upstream stable { server 127.0.0.1:${stablePort}; keepalive 64; }
  upstream canary { server 127.0.0.1:${canaryPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / { proxy_pass http://$pool; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`;
}

/** (a) Plain HAProxy, one thread, weighted round robin 95/5 over kept-alive server connections. Returns the haproxy arguments. */
export function writePlainHaproxy(dir: string, port: number, stablePort: number, canaryPort: number): string[] {
  mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    conf,
    `global
  nbthread 1
  maxconn 4096
  pidfile ${dir}/haproxy.pid

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 65s
  option http-keep-alive
  http-reuse always

frontend bench
  bind 127.0.0.1:${port}
  default_backend split

backend split
  balance roundrobin
  server stable 127.0.0.1:${stablePort} weight 95
  server canary 127.0.0.1:${canaryPort} weight 5
`,
  );
  return ['-db', '-f', conf];
}
