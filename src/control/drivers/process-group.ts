/**
 * Stopping what the process driver started: SIGTERM to the instance's process group (it was
 * spawned detached, so its pid is the group id), SIGKILL to the group if anything of it is
 * still alive after the grace period.
 */

import { readFileSync } from 'node:fs';

/**
 * Whether the process `pid` is still the one Tern started: its environment carries `marker`.
 * Where /proc cannot tell (not Linux, or the process is gone), trusts the pid.
 */
export function carriesMarker(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker);
  } catch {
    return true;
  }
}

/** True while any process of the group `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stops the group: SIGTERM, then SIGKILL after `graceMs` (default 10 s); resolves with how it
 * ended once no process of it is left (or 2 s after SIGKILL, when something is stuck in the kernel).
 */
export async function stopGroup(pgid: number, graceMs = 10_000): Promise<'gone' | 'terminated' | 'killed'> {
  if (!Number.isInteger(pgid) || pgid <= 1 || !groupAlive(pgid)) return 'gone';
  signal(pgid, 'SIGTERM');
  for (const deadline = Date.now() + graceMs; Date.now() < deadline; await sleep(50)) {
    if (!groupAlive(pgid)) return 'terminated';
  }
  signal(pgid, 'SIGKILL');
  for (const deadline = Date.now() + 2000; Date.now() < deadline && groupAlive(pgid); await sleep(50));
  return 'killed';
}
