/**
 * The five configurations of the data-plane bench, each started on free loopback ports and
 * pinned to the proxy CPU when pinning is on:
 *   a) plain HAProxy, static 95/5 weights          c) NGINX split_clients 95/5
 *   b) Tern-on-HAProxy (bench/dataplane/tern-haproxy.ts)   d) Tern-on-NGINX (tern-nginx.ts)
 *   e) Tern's built-in gateway (bench/gateway/serve-tern.ts), 1 process
 * b and d come from modules written beside this file by other work; when a module is missing or
 * fails to load the configuration is reported as not available, never faked.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nginxSplitBody, writeNginx, writePlainHaproxy } from './configs.js';
import { freePort, pinTree, start, stopChild, waitPort } from './procs.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** A process to watch (CPU, RSS) with everything it forks. */
export interface Role {
  readonly role: string;
  readonly pid: number;
}

export interface Target {
  readonly key: string;
  readonly label: string;
  readonly url: string;
  readonly roles: readonly Role[];
  stop(): Promise<void>;
}

export interface Context {
  readonly work: string;
  readonly stableUrl: string;
  readonly canaryUrl: string;
  readonly stablePort: number;
  readonly canaryPort: number;
  /** CPU for the proxies and agents, or null (no pinning). */
  readonly proxyCpu: number | null;
}

/** The shared options of tern-haproxy.ts and tern-nginx.ts (the bench contract). */
export interface TernStartOptions {
  readonly stableUrl: string;
  readonly canaryUrl: string;
  readonly weightBp: number;
  readonly evidence: boolean;
}

interface TernStarted {
  readonly url: string;
  readonly agentPid?: number;
  readonly haproxyPid?: number;
  readonly nginxPids?: readonly number[];
  stop(): Promise<void> | void;
}

type TernStart = (options: TernStartOptions) => Promise<TernStarted>;

/** Loads `name` from `file` beside this one; a string says why it is not available. */
export async function loadTernStarter(file: string, name: string): Promise<TernStart | string> {
  const full = path.join(HERE, file);
  if (!existsSync(full)) return `bench/dataplane/${file} missing`;
  try {
    // A computed specifier: the module may not exist on this branch, and the type checker must not need it.
    const mod = (await import(pathToFileURL(full).href)) as Record<string, unknown>;
    const fn = mod[name];
    return typeof fn === 'function' ? (fn as TernStart) : `bench/dataplane/${file} exports no ${name}`;
  } catch (err) {
    return `bench/dataplane/${file} failed to load: ${(err as Error).message.split('\n')[0]}`;
  }
}

/** (a) plain HAProxy. */
export async function startPlainHaproxy(ctx: Context): Promise<Target> {
  const port = await freePort();
  const child = start('haproxy', writePlainHaproxy(path.join(ctx.work, 'a-haproxy'), port, ctx.stablePort, ctx.canaryPort), ctx.proxyCpu);
  await waitPort(port);
  return {
    key: 'a',
    label: 'plain HAProxy 95/5 weights',
    url: `http://127.0.0.1:${port}/`,
    roles: [{ role: 'haproxy', pid: child.pid! }],
    stop: () => stopChild(child),
  };
}

/** (c) NGINX split_clients. */
export async function startNginxSplit(ctx: Context): Promise<Target> {
  const port = await freePort();
  const args = writeNginx(path.join(ctx.work, 'c-nginx'), nginxSplitBody(port, ctx.stablePort, ctx.canaryPort));
  const child = start('nginx', args, ctx.proxyCpu);
  await waitPort(port);
  return {
    key: 'c',
    label: 'NGINX split_clients 95/5',
    url: `http://127.0.0.1:${port}/`,
    roles: [{ role: 'nginx', pid: child.pid! }],
    stop: () => stopChild(child),
  };
}

/** (e) Tern's built-in gateway, one process, sticky 95/5 by the user header. */
export async function startBuiltinGateway(ctx: Context): Promise<Target> {
  const script = path.join(HERE, '..', 'gateway', 'serve-tern.ts');
  const child = start(process.execPath, ['--import', 'tsx', script, '0', ctx.stableUrl, ctx.canaryUrl], ctx.proxyCpu, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('gateway did not start within 30 s')), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}`));
    });
  });
  return {
    key: 'e',
    label: "Tern's built-in gateway",
    url: `http://127.0.0.1:${port}/`,
    roles: [{ role: 'gateway', pid: child.pid! }],
    stop: () => stopChild(child),
  };
}

/** (b) or (d): a Tern-on-X module's start function, its processes pinned to the proxy CPU. */
export async function startTern(ctx: Context, key: string, label: string, starter: TernStart, evidence: boolean): Promise<Target> {
  const started = await starter({ stableUrl: ctx.stableUrl, canaryUrl: ctx.canaryUrl, weightBp: 500, evidence });
  const roles: Role[] = [];
  if (started.haproxyPid !== undefined) roles.push({ role: 'haproxy', pid: started.haproxyPid });
  for (const pid of started.nginxPids ?? []) roles.push({ role: 'nginx', pid });
  if (started.agentPid !== undefined) roles.push({ role: 'agent', pid: started.agentPid });
  if (ctx.proxyCpu !== null) for (const { pid } of roles) pinTree(pid, ctx.proxyCpu);
  return { key, label, url: started.url, roles, stop: async () => void (await started.stop()) };
}
