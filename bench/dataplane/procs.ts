/**
 * Process plumbing for the data-plane bench: spawning tracked children (optionally pinned to a
 * CPU with taskset), free loopback ports, waiting for a port, pinning a running process tree,
 * and sampling CPU time and RSS from /proc.
 */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64/arm64
const children = new Set<ChildProcess>();

/** Spawns `cmd`, pinned to `cpu` with taskset when given; the child is killed by killChildren(). */
export function start(cmd: string, args: readonly string[], cpu: number | null, options: SpawnOptions = {}): ChildProcess {
  const [file, argv] = cpu === null ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]];
  const child = spawn(file, argv, { stdio: ['ignore', 'ignore', 'inherit'], ...options });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM to every child still running, then SIGKILL to those left after `graceMs`. */
export async function killChildren(graceMs = 500): Promise<void> {
  for (const child of children) child.kill('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (children.size > 0 && Date.now() < deadline) await sleep(25);
  for (const child of children) child.kill('SIGKILL');
}

/** SIGTERM, then SIGKILL if `child` has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(graceMs)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** A loopback port free at the time of the call (bound to port 0, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once 127.0.0.1:`port` accepts a connection; throws after `timeoutMs`. */
export async function waitPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => (socket.end(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`port ${port} never opened`);
}

/** `pid` and all its descendants (through /proc/<pid>/task/<tid>/children), bounded in depth. */
export function processTree(pid: number, depth = 4): number[] {
  const out = [pid];
  if (depth === 0) return out;
  const taskDir = `/proc/${pid}/task`;
  if (!existsSync(taskDir)) return out;
  for (const tid of safeReaddir(taskDir)) {
    const text = safeRead(`${taskDir}/${tid}/children`);
    for (const child of text.split(/\s+/).filter(Boolean)) {
      // tsx's esbuild service is how a TypeScript process was started, not part of what it does.
      if (safeRead(`/proc/${child}/comm`).trim() !== 'esbuild') out.push(...processTree(Number(child), depth - 1));
    }
  }
  return [...new Set(out)];
}

/** Pins `pid`, all its threads and its descendants to `cpu` (taskset -a -p). Returns the pids pinned. */
export function pinTree(pid: number, cpu: number): number[] {
  const pids = processTree(pid);
  for (const p of pids) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(p)], { stdio: 'ignore' });
  return pids;
}

export interface ProcSample {
  readonly pid: number;
  readonly name: string;
  /** utime + stime, seconds. */
  readonly cpuSeconds: number;
  readonly rssKb: number;
}

/** CPU time and RSS of one process now, or null when it has gone. */
export function sample(pid: number): ProcSample | null {
  const stat = safeRead(`/proc/${pid}/stat`);
  const status = safeRead(`/proc/${pid}/status`);
  if (!stat || !status) return null;
  // The name is in parentheses and may hold spaces: fields after the last ')' are space-separated,
  // utime and stime are fields 14 and 15 of the whole line (11 and 12 after the state field).
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(after[11]) + Number(after[12]);
  return {
    pid,
    name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    cpuSeconds: ticks / CLK_TCK,
    rssKb: Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0),
  };
}

export interface Usage {
  readonly pid: number;
  readonly name: string;
  /** Percent of one CPU over the interval. */
  readonly cpuPercent: number;
  readonly rssKb: number;
}

/** Samples `pids` before and after `during()` and returns each one's CPU% and final RSS. */
export async function measureUsage<T>(pids: readonly number[], during: () => Promise<T>): Promise<{ result: T; usage: Usage[] }> {
  const before = new Map(pids.map((pid) => [pid, sample(pid)] as const));
  const started = performance.now();
  const result = await during();
  const seconds = (performance.now() - started) / 1000;
  const usage: Usage[] = [];
  for (const pid of pids) {
    const a = before.get(pid);
    const b = sample(pid);
    if (!a || !b) continue;
    usage.push({ pid, name: b.name, cpuPercent: ((b.cpuSeconds - a.cpuSeconds) / seconds) * 100, rssKb: b.rssKb });
  }
  return { result, usage };
}

/** True when `taskset` runs and the machine has at least two CPUs to split between proxy and load. */
export function canPin(cpus: number): boolean {
  if (cpus < 2) return false;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
