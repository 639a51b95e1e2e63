/**
 * CPU use during a bench/real run, from /proc (Linux): the whole machine (busy share of all
 * cores, other tenants included), the tern server process (API, controller and the built-in
 * gateway), this process (the load generator), the backends together, and this process's event
 * loop delay. Tells whether the measurement ran on a machine with room to spare.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Clock ticks per second of /proc times (USER_HZ, 100 on every mainstream Linux). */
const HZ = 100;

function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** utime + stime of `pid` in seconds, 0 when it is gone. */
function processSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / HZ;
  } catch {
    return 0;
  }
}

/** Nanoseconds the main thread of `pid` has waited on a run queue (ready but not running), 0 when gone. */
function waitNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]);
  } catch {
    return 0;
  }
}

export interface CpuReport {
  readonly seconds: number;
  /** Busy share of all cores of the machine, 0..1 (everything running on it). */
  readonly machineBusy: number;
  readonly cores: number;
  /** Each in cores (1 = one core fully busy). */
  readonly server: number;
  readonly client: number;
  readonly backends: number;
  /**
   * Share of the time the main thread (the event loop) of the tern server and of the load
   * generator was ready to run but waited for a CPU: what a starved machine adds to latency.
   */
  readonly serverWaiting: number;
  readonly clientWaiting: number;
  /** The load generator's event-loop delay p99, ms. */
  readonly clientLoopP99Ms: number;
  /** The machine's 5-minute load average at the end (runnable processes, all tenants). */
  readonly loadAverage: number;
}

/** Starts measuring; `backendPids()` is asked at each sample (backends come and go). */
export function startCpuMeter(serverPid: number, backendPids: () => readonly number[]): { stop(): CpuReport } {
  const t0 = performance.now();
  const m0 = machineTicks();
  const s0 = processSeconds(serverPid);
  const c0 = process.cpuUsage();
  const sw0 = waitNs(serverPid);
  const cw0 = waitNs(process.pid);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  // A backend's CPU is counted from the first sample that saw it until its last one.
  const backendFirst = new Map<number, number>();
  const backendLast = new Map<number, number>();
  const sample = (): void => {
    for (const pid of backendPids()) {
      const s = processSeconds(pid);
      if (s === 0) continue;
      if (!backendFirst.has(pid)) backendFirst.set(pid, s);
      backendLast.set(pid, s);
    }
  };
  sample();
  const timer = setInterval(sample, 1000);
  return {
    stop() {
      sample();
      clearInterval(timer);
      loop.disable();
      const seconds = (performance.now() - t0) / 1000;
      const m1 = machineTicks();
      const c = process.cpuUsage(c0);
      let backends = 0;
      for (const [pid, first] of backendFirst) backends += (backendLast.get(pid) ?? first) - first;
      return {
        seconds,
        machineBusy: (m1.busy - m0.busy) / Math.max(1, m1.total - m0.total),
        cores: cpus().length,
        server: (processSeconds(serverPid) - s0) / seconds,
        client: (c.user + c.system) / 1e6 / seconds,
        backends: backends / seconds,
        serverWaiting: (waitNs(serverPid) - sw0) / 1e9 / seconds,
        clientWaiting: (waitNs(process.pid) - cw0) / 1e9 / seconds,
        clientLoopP99Ms: loop.percentile(99) / 1e6,
        loadAverage: loadavg()[1] ?? 0,
      };
    },
  };
}
