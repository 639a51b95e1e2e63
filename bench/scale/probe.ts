/**
 * What the scale bench reads about processes and sockets from Linux: resident memory, CPU time
 * and open descriptors of a process (/proc/PID), the children of a process (a gateway's
 * workers, NGINX's), the TIME_WAIT count (`ss -s`) and listen-queue overflows (/proc/net/netstat).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';

export interface ProcSample {
  readonly pid: number;
  /** Resident set, bytes. */
  readonly rss: number;
  /** user + system CPU time, seconds. */
  readonly cpu: number;
  /** Open file descriptors (user connections, for a gateway worker, plus a few dozen). */
  readonly fds: number;
}

const TICKS = 100; // USER_HZ on Linux

/** One process's figures, or null when it is gone. */
export function sample(pid: number): ProcSample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
    // Fields after the command (which may hold spaces): state is the 3rd; utime, stime the 14th and 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS;
    return { pid, rss, cpu, fds: openFiles(pid) };
  } catch {
    return null;
  }
}

/**
 * Open descriptors of a process. Linux ≥ 6.2 gives the count as the size of /proc/PID/fd (~6 µs);
 * listing the directory instead (~0.5 ms per 1,000 descriptors) took a fifth of a core at
 * 100,000 connections when sampled every second — CPU the processes being measured then lacked.
 */
function openFiles(pid: number): number {
  return statSync(`/proc/${pid}/fd`).size || readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * The pids whose parent is `pid`: from /proc/PID/task/TID/children where the kernel has it (a
 * few small reads), else by reading every process's stat.
 */
export function childrenOf(pid: number): number[] {
  try {
    const found = readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
    return found.sort((a, b) => a - b);
  } catch {
    return childrenByScan(pid);
  }
}

function childrenByScan(pid: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found.sort((a, b) => a - b);
}

/** Sockets in TIME_WAIT on this machine (`ss -s`). */
export function timeWait(): number {
  const out = execFileSync('ss', ['-s'], { encoding: 'utf8' });
  return Number(/timewait (\d+)/.exec(out)?.[1] ?? NaN);
}

/** Connections dropped because a listener's accept queue was full, since boot (TcpExt ListenOverflows). */
export function listenOverflows(): number {
  const [names, values] = readFileSync('/proc/net/netstat', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('TcpExt:'))
    .map((l) => l.split(/\s+/));
  const i = names?.indexOf('ListenOverflows') ?? -1;
  return i < 0 ? NaN : Number(values?.[i]);
}
