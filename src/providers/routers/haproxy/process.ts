/**
 * The HAProxy process the agent drives: started in master-worker mode (`-W`, master CLI on
 * `-S`) in its own session so it outlives the agent (fail static), or adopted when the pid
 * recorded in the working directory still answers. A structural change is a graceful reload
 * through the master CLI: the new worker takes the listening sockets over (`expose-fd
 * listeners`), the old one finishes the requests in flight and exits.
 */
import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { HaproxyError } from './errors.js';
import { runtimeCommand } from './runtime-api.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface HaproxyProcessOptions {
  /** The haproxy binary (default `haproxy` on PATH). */
  readonly bin: string;
  /** Absolute working directory holding config, sockets, pid files and haproxy's own log. */
  readonly dir: string;
  readonly logger: Logger;
}

/** Paths inside the working directory. */
export function haproxyPaths(dir: string): { config: string; admin: string; master: string; masterPid: string; log: string } {
  return {
    config: join(dir, 'haproxy.cfg'),
    admin: join(dir, 'admin.sock'),
    master: join(dir, 'master.sock'),
    masterPid: join(dir, 'master.pid'),
    log: join(dir, 'haproxy.log'),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface ProcView {
  readonly reloads: number;
  readonly failed: number;
  readonly workers: readonly number[];
}

function parseShowProc(text: string): ProcView {
  const master = /master\s+(\d+)\s+\[failed:\s*(\d+)\]/.exec(text);
  const section = text.split('# workers')[1]?.split('#')[0] ?? '';
  const workers = [...section.matchAll(/^(\d+)\s+worker/gm)].map((m) => Number(m[1]));
  return { reloads: Number(master?.[1] ?? 0), failed: Number(master?.[2] ?? 0), workers };
}

export class HaproxyProcess {
  readonly #opts: HaproxyProcessOptions;
  readonly #paths: ReturnType<typeof haproxyPaths>;
  #masterPid: number;

  private constructor(opts: HaproxyProcessOptions, masterPid: number) {
    this.#opts = opts;
    this.#paths = haproxyPaths(opts.dir);
    this.#masterPid = masterPid;
  }

  get masterPid(): number {
    return this.#masterPid;
  }

  get adminSocket(): string {
    return this.#paths.admin;
  }

  /** The HAProxy recorded in `dir` when it still runs and answers; else null. */
  static async adopt(opts: HaproxyProcessOptions): Promise<HaproxyProcess | null> {
    const paths = haproxyPaths(opts.dir);
    const pid = Number((await readFile(paths.masterPid, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return null;
    const proc = new HaproxyProcess(opts, pid);
    try {
      await proc.workerPid();
      return proc;
    } catch {
      return null;
    }
  }

  /** Checks the config at `configPath`. @throws HaproxyError with HAProxy's complaint. */
  static async check(bin: string, configPath: string): Promise<void> {
    try {
      await run(bin, ['-c', '-q', '-f', configPath], { timeout: 15_000 });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new HaproxyError(`invalid configuration: ${(e.stderr || e.stdout || e.message).trim().slice(0, 500)}`, { cause: err });
    }
  }

  /** Starts HAProxy on the config in `dir` in its own session; resolves once its worker answers. @throws HaproxyError */
  static async start(opts: HaproxyProcessOptions): Promise<HaproxyProcess> {
    const paths = haproxyPaths(opts.dir);
    const log = openSync(paths.log, 'a');
    let child;
    try {
      child = spawn(opts.bin, ['-W', '-S', `${paths.master},mode,600`, '-f', paths.config], {
        detached: true,
        stdio: ['ignore', log, log],
      });
    } finally {
      closeSync(log);
    }
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.once('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new HaproxyError(`could not start ${opts.bin}`);
    await writeFile(paths.masterPid, `${child.pid}\n`);
    const proc = new HaproxyProcess(opts, child.pid);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const code = await Promise.race([exited, sleep(50).then(() => undefined)]);
      if (code !== undefined) throw new HaproxyError(`haproxy exited (${String(code)}) at start; see ${paths.log}`);
      const ok = await proc.workerPid().then(
        () => true,
        () => false,
      );
      if (ok) return proc;
      if (Date.now() > deadline) throw new HaproxyError(`haproxy did not answer within 10 s; see ${paths.log}`);
    }
  }

  /** The pid of the worker answering the admin socket now. @throws HaproxyError */
  async workerPid(): Promise<number> {
    const info = await runtimeCommand(this.#paths.admin, 'show info', 2_000);
    const pid = /^Pid:\s*(\d+)/m.exec(info);
    if (!pid) throw new HaproxyError(`unexpected "show info" answer: ${info.slice(0, 100)}`);
    return Number(pid[1]);
  }

  async #showProc(): Promise<ProcView> {
    return parseShowProc(await runtimeCommand(this.#paths.master, 'show proc', 2_000));
  }

  /**
   * Reloads the config gracefully: resolves once a new worker answers the admin socket.
   * @throws HaproxyError when the master reports the reload failed (the old worker keeps serving) or after 20 s.
   */
  async reload(): Promise<void> {
    const before = await this.#showProc();
    const oldWorker = await this.workerPid();
    // The master re-executes itself on `reload` and drops the CLI connection: no answer to read.
    await runtimeCommand(this.#paths.master, 'reload', 5_000).catch(() => undefined);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      await sleep(20);
      const view = await this.#showProc().catch(() => null);
      if (view === null) continue;
      if (view.failed > before.failed)
        throw new HaproxyError(`reload failed; the previous configuration keeps serving (see ${this.#paths.log})`);
      const worker = await this.workerPid().catch(() => oldWorker);
      if (worker !== oldWorker && view.workers.includes(worker)) return;
    }
    throw new HaproxyError('no new worker answered within 20 s of the reload');
  }

  /** Stops HAProxy: `graceful` lets requests in flight finish (SIGUSR1), else at once (SIGTERM). Resolves once the master is gone. */
  async stop(graceful = false): Promise<void> {
    const pid = this.#masterPid;
    try {
      process.kill(pid, graceful ? 'SIGUSR1' : 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + 15_000;
    while (alive(pid) && Date.now() < deadline) await sleep(25);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    this.#opts.logger.info({ pid }, 'haproxy stopped');
  }
}
