/**
 * Load for the data-plane bench: wrk (closed loop, a fresh random user key per request from a
 * space of ten million), its output parsed; the backends' stub_status request counters (the
 * canary share a split really produced); and a stickiness probe (each of N users asks twice).
 */
import { writeFileSync } from 'node:fs';
import { request } from 'undici';
import { USER_HEADER } from './configs.js';
import { start } from './procs.js';

export interface WrkResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

/** Writes the wrk Lua script: every request carries `USER_HEADER: u<1..10^7>`, each thread seeded apart. */
export function writeUserScript(file: string): void {
  writeFileSync(
    file,
    `local counter = 1
function setup(thread) thread:set("id", counter); counter = counter + 1 end
function init(args) math.randomseed(os.time() * 1000 + id * 7919) end
local fmt, random = wrk.format, math.random
function request() return fmt("GET", "/", { ["${USER_HEADER}"] = "u" .. random(1, 10000000) }) end
`,
  );
}

export interface WrkOptions {
  readonly url: string;
  readonly script: string;
  readonly connections: number;
  readonly threads: number;
  readonly seconds: number;
  /** Pin wrk to this CPU (taskset), or null. */
  readonly cpu: number | null;
}

/** Runs wrk once (killed if it overruns its duration by 30 s) and parses its --latency output. */
export async function wrk(o: WrkOptions): Promise<WrkResult> {
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${o.seconds}s`, '--latency', '-s', o.script, o.url];
  const out = await new Promise<string>((resolve, reject) => {
    const child = start('wrk', args, o.cpu, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (o.seconds + 30) * 1000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(text);
      else reject(new Error(`wrk exited with ${code}:\n${text}`));
    });
  });
  return parseWrk(out);
}

/** Parses wrk --latency output (latencies to ms). */
export function parseWrk(out: string): WrkResult {
  const ms = (label: string): number => {
    const m = new RegExp(`${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) throw new Error(`no ${label}% in wrk output:\n${out}`);
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socket = (/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1) ?? []).map(Number);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`no Requests/sec in wrk output:\n${out}`);
  return { rps: Number(rps[1]), p50: ms('50'), p99: ms('99'), errors: non2xx + socket.reduce((a, b) => a + b, 0) };
}

/** Requests the backend NGINX behind `statusPort` has served so far (stub_status). */
export async function servedCount(statusPort: number): Promise<number> {
  const res = await request(`http://127.0.0.1:${statusPort}/`, { headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await res.body.text();
  const m = /\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n/.exec(text);
  if (!m) throw new Error(`unexpected stub_status output: ${text}`);
  return Number(m[3]);
}

export interface Stickiness {
  readonly users: number;
  /** Users who got the same backend on both requests. */
  readonly sticky: number;
  /** Users whose first answer came from the canary. */
  readonly canary: number;
  readonly errors: number;
}

/**
 * Each of `users` users asks twice (all users in order, then all again in reverse order, so a
 * split that ignores the user, like round robin, does not replay the same sequence); counts who
 * stayed and who is on the canary.
 */
export async function probeStickiness(url: string, users: number): Promise<Stickiness> {
  const first = new Map<string, string>();
  let sticky = 0;
  let canary = 0;
  let errors = 0;
  const seed = Date.now().toString(36);
  for (let pass = 0; pass < 2; pass++) {
    for (let n = 0; n < users; n++) {
      const user = `probe-${seed}-${pass === 0 ? n : users - 1 - n}`;
      try {
        const res = await request(url, { headers: { [USER_HEADER]: user }, headersTimeout: 5000, bodyTimeout: 5000 });
        const body = (await res.body.text()).trim();
        if (res.statusCode !== 200) errors++;
        else if (pass === 0) {
          first.set(user, body);
          if (body === 'canary') canary++;
        } else if (first.get(user) === body) sticky++;
      } catch {
        errors++;
      }
    }
  }
  return { users, sticky, canary, errors };
}
