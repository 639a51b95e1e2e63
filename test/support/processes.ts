/**
 * Real processes for end-to-end tests: `tern server`, `tern gateway` (the built CLI) and tiny
 * version apps, each started on a free port, its URL read from its own output, and all of them
 * killed when the test ends. Nothing here mocks anything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'tern');
const VERSION_APP = path.join(ROOT, 'test', 'fixtures', 'version-app.mjs');

export interface Proc {
  readonly child: ChildProcess;
  output(): string;
  /** The last 20 kB the process wrote to stderr. */
  errors(): string;
  /** Resolves with the first match of `pattern` in stdout, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<Proc>();

/** Environment without the caller's TERN_* settings, so tests are hermetic. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TERN_')));
  return { ...env, NO_COLOR: '1', ...extra };
}

/** Spawns `node args...` and tracks it. */
export function startNode(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): Proc {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const proc: Proc = {
    child,
    output: () => out,
    errors: () => err,
    waitFor: (pattern, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = pattern.exec(out);
          if (m) resolve(m);
          return m !== null;
        };
        if (check()) return;
        const onData = (): void => {
          if (check()) cleanup();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern} in output of ${args.join(' ')}\nstdout: ${out}\nstderr: ${err}`));
        }, timeoutMs);
        const onExit = (): void => {
          cleanup();
          reject(new Error(`${args.join(' ')} exited before printing ${pattern}\nstdout: ${out}\nstderr: ${err}`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          child.off('exit', onExit);
        };
        child.stdout.on('data', onData);
        child.once('exit', onExit);
      }),
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      running.delete(proc);
      return exited;
    },
  };
  running.add(proc);
  return proc;
}

/** Kills every process started here (SIGKILL: tests are over). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill('SIGKILL')));
}

export interface TernServer {
  readonly proc: Proc;
  readonly apiUrl: string;
  readonly gatewayUrl: string;
  readonly adminToken: string;
}

/** `tern server` on free ports over `dataDir`, with any further flags in `args`. */
export async function startTernServer(
  dataDir: string,
  env: Record<string, string> = {},
  args: readonly string[] = [],
): Promise<TernServer> {
  const proc = startNode(
    [BIN, 'server', '--data-dir', dataDir, '--api-port', '0', '--gateway-port', '0', '--log-level', 'warn', ...args],
    cleanEnv(env),
  );
  const [, apiUrl] = await proc.waitFor(/Tern API listening on (\S+)/);
  const [, gatewayUrl] = await proc.waitFor(/Tern gateway listening on (\S+)/);
  const adminToken = env.TERN_ADMIN_TOKEN ?? (await readFile(path.join(dataDir, 'admin.token'), 'utf8')).trim();
  return { proc, apiUrl: apiUrl!, gatewayUrl: gatewayUrl!, adminToken };
}

/** `tern gateway` following `apiUrl` with a gateway-role `token`. */
export async function startTernGateway(apiUrl: string, token: string, stateFile: string, port = 0): Promise<{ proc: Proc; url: string }> {
  const proc = startNode(
    [BIN, 'gateway', '--control-plane', apiUrl, '--port', String(port), '--state-file', stateFile, '--log-level', 'warn'],
    cleanEnv({ TERN_TOKEN: token }),
  );
  const [, url] = await proc.waitFor(/Tern gateway listening on (\S+)/);
  return { proc, url: url! };
}

/** A version app; returns its base URL. */
export async function startVersionApp(
  version: string,
  options: { errorRate?: number; delayMs?: number } = {},
): Promise<{ proc: Proc; url: string }> {
  const proc = startNode([
    VERSION_APP,
    '--version',
    version,
    '--error-rate',
    String(options.errorRate ?? 0),
    '--delay-ms',
    String(options.delayMs ?? 0),
  ]);
  const [, port] = await proc.waitFor(/listening (\d+)/);
  return { proc, url: `http://127.0.0.1:${port}` };
}
