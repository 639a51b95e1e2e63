/**
 * One client process of the scale bench (run.ts forks several): a slice of the users, each a
 * distinct `x-user-id` on its own keep-alive TCP connection from its own loopback source
 * address, sending `GET /` and then one more every `meanIntervalMs` on average (uniform over
 * 0.5–1.5×, so no gap comes near the gateway's 75 s keep-alive timeout). Plain `node:net` and a
 * minimal HTTP/1.1 response reader: 15,000 connections per process cost little CPU this way,
 * so the clients are not what is measured.
 *
 * Waits are kept on one timing wheel (`Wheel`), not a node timer per user: node files timers in
 * a table keyed by their duration, and 15,000 users each waiting a different number of
 * milliseconds made V8 switch that table between its array and dictionary forms over and over
 * (perf: `CopyDictionaryToObjectElements`, `NumberDictionary::FindInsertionEntry`, `Normalize`
 * on top of the client's profile) — at 2,500 requests/s the clients then used more CPU than the
 * gateway they measured (58% vs 51% of a core, 10,000 users), CPU the gateway then lacked.
 *
 * Every second it reports to the parent: connections open, connections opened, answers by
 * version, errors by kind, idle connections the server closed, and a latency histogram
 * (2% buckets). A request counts as failed when it gets no answer within 10 s, a status other
 * than 200, or its connection fails or closes before the answer.
 */
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface ClientJob {
  readonly host: string;
  readonly port: number;
  /** Users of this process: `user-${first}` … `user-${first + count - 1}`. */
  readonly first: number;
  readonly count: number;
  /** Loopback source address of each user, by user index (run.ts `sourceAddress`). */
  readonly perAddress: number;
  /** Epoch ms at which the first user connects; the last connects `rampMs` later. */
  readonly startAt: number;
  readonly rampMs: number;
  readonly meanIntervalMs: number;
}

export interface ClientReport {
  readonly type: 'tick';
  readonly at: number;
  readonly open: number;
  readonly opened: number;
  readonly answered: number;
  readonly v2: number;
  readonly idleClosed: number;
  readonly errors: Record<string, number>;
  /** Latency histogram: bucket index (see `bucketOf`) → count. */
  readonly hist: Record<number, number>;
  readonly maxMs: number;
  /** This process's event-loop delay p99 over the second, ms (a busy client inflates latency). */
  readonly loopP99Ms: number;
}

const REQUEST_TIMEOUT_MS = 10_000;
const BUCKET_BASE = Math.log(1.02);

/** The histogram bucket of a latency in ms (2% wide; 1 µs floor). */
export function bucketOf(ms: number): number {
  return Math.ceil(Math.log(Math.max(ms * 1000, 1)) / BUCKET_BASE);
}

/** The upper bound, in ms, of a bucket. */
export function bucketMs(bucket: number): number {
  return Math.exp(bucket * BUCKET_BASE) / 1000;
}

/** The loopback source address of user `i` when each address carries `perAddress` users. */
export function sourceAddress(i: number, perAddress: number): string {
  const a = Math.floor(i / perAddress);
  return `127.${1 + Math.floor(a / 250)}.0.${1 + (a % 250)}`;
}

interface Counters {
  open: number;
  opened: number;
  answered: number;
  v2: number;
  idleClosed: number;
  errors: Map<string, number>;
  hist: Map<number, number>;
  maxMs: number;
}

const fresh = (open: number): Counters => ({
  open,
  opened: 0,
  answered: 0,
  v2: 0,
  idleClosed: 0,
  errors: new Map(),
  hist: new Map(),
  maxMs: 0,
});

let c = fresh(0);
let stopping = false;
const loop = monitorEventLoopDelay({ resolution: 10 });

function fail(kind: string): void {
  c.errors.set(kind, (c.errors.get(kind) ?? 0) + 1);
}

/** Status code, whether the server will close, and the answer's length once it is complete; null while incomplete. */
function parseAnswer(buf: Buffer): { status: number; close: boolean; body: string; used: number } | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.toString('latin1', 0, end).toLowerCase();
  const status = Number(head.slice(9, 12));
  const close = /\r\nconnection: *close/.test(head);
  const length = /\r\ncontent-length: *(\d+)/.exec(head);
  if (length !== null) {
    const used = end + 4 + Number(length[1]);
    return buf.length < used ? null : { status, close, body: buf.toString('latin1', end + 4, used), used };
  }
  if (/\r\ntransfer-encoding: *chunked/.test(head)) {
    // The last chunk `0\r\n\r\n`, right after the head's CRLF CRLF or after a chunk's CRLF.
    const last = buf.indexOf('\r\n0\r\n\r\n', end + 2);
    return last < 0 ? null : { status, close, body: buf.toString('latin1', end + 4, last + 7), used: last + 7 };
  }
  return { status, close: true, body: '', used: buf.length };
}

/**
 * A timing wheel of `TICK_MS` slots: `at(ms, fn, user, seq)` runs `fn(user, seq)` within one
 * tick after `ms`. One interval timer serves every user; a slot is an array of pending calls.
 * Hand-written because what it replaces is node's own timers (see the file's comment) and no
 * maintained npm wheel fits a bench this small.
 */
const TICK_MS = 5;
type Due = (user: User, seq: number) => void;

class Wheel {
  readonly #slots = new Map<number, { fn: Due[]; user: User[]; seq: number[] }>();
  #next = Math.floor(performance.now() / TICK_MS);
  readonly #timer = setInterval(() => this.#turn(), TICK_MS);

  at(delayMs: number, fn: Due, user: User, seq: number): void {
    const slot = Math.max(this.#next, Math.ceil((performance.now() + delayMs) / TICK_MS));
    let s = this.#slots.get(slot);
    if (s === undefined) this.#slots.set(slot, (s = { fn: [], user: [], seq: [] }));
    s.fn.push(fn);
    s.user.push(user);
    s.seq.push(seq);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#slots.clear();
  }

  #turn(): void {
    const now = Math.floor(performance.now() / TICK_MS);
    for (; this.#next <= now; this.#next++) {
      const s = this.#slots.get(this.#next);
      if (s === undefined) continue;
      this.#slots.delete(this.#next);
      for (let i = 0; i < s.fn.length; i++) s.fn[i]!(s.user[i]!, s.seq[i]!);
    }
  }
}

const wheel = new Wheel();
const sendDue: Due = (u) => u.send();
const timeoutDue: Due = (u, seq) => u.timedOut(seq);

class User {
  readonly #request: Buffer;
  #socket: Socket | null = null;
  #buf: Buffer = Buffer.alloc(0);
  #sentAt = 0;
  /** The request waiting for its answer (its number), or 0. */
  #pending = 0;
  #seq = 0;
  readonly #job: ClientJob;
  readonly #index: number;

  constructor(job: ClientJob, index: number) {
    this.#job = job;
    this.#index = index;
    this.#request = Buffer.from(`GET / HTTP/1.1\r\nhost: scale.test\r\nx-user-id: user-${index}\r\n\r\n`, 'latin1');
  }

  /** Sends one request, connecting first when the connection is gone. */
  send(): void {
    if (stopping) return;
    this.#sentAt = performance.now();
    this.#pending = ++this.#seq;
    wheel.at(REQUEST_TIMEOUT_MS, timeoutDue, this, this.#pending);
    if (this.#socket !== null) return void this.#socket.write(this.#request);
    const socket = connect({ host: this.#job.host, port: this.#job.port, localAddress: sourceAddress(this.#index, this.#job.perAddress) });
    this.#socket = socket;
    this.#buf = Buffer.alloc(0);
    socket.setNoDelay(true);
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      c.open++;
      c.opened++;
      socket.write(this.#request);
    });
    socket.on('data', (d: Buffer) => this.#onData(socket, d));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.#pending !== 0 && !stopping) this.#abandon(err.code ?? err.message);
    });
    socket.once('close', () => {
      if (connected) c.open--;
      if (this.#socket !== socket) return;
      this.#socket = null;
      if (stopping) return;
      if (this.#pending !== 0) this.#abandon('closed before the answer');
      else c.idleClosed++;
    });
  }

  /** Request `seq` reached its deadline: a failure if it is still waiting. */
  timedOut(seq: number): void {
    if (this.#pending === seq && !stopping) this.#abandon('timeout');
  }

  stop(): void {
    this.#pending = 0;
    this.#socket?.destroy();
  }

  #onData(socket: Socket, d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    const answer = parseAnswer(this.#buf);
    if (answer === null || this.#pending === 0) return;
    this.#pending = 0;
    this.#buf = this.#buf.subarray(answer.used);
    const ms = performance.now() - this.#sentAt;
    if (answer.status !== 200) fail(`status ${answer.status}`);
    else {
      c.answered++;
      if (answer.body.includes('v2')) c.v2++;
      const b = bucketOf(ms);
      c.hist.set(b, (c.hist.get(b) ?? 0) + 1);
      if (ms > c.maxMs) c.maxMs = ms;
    }
    if (answer.close) {
      this.#socket = null;
      socket.end();
    }
    this.#schedule();
  }

  #abandon(kind: string): void {
    this.#pending = 0;
    fail(kind);
    const s = this.#socket;
    this.#socket = null;
    s?.destroy();
    this.#schedule();
  }

  #schedule(): void {
    if (stopping) return;
    wheel.at(this.#job.meanIntervalMs * (0.5 + Math.random()), sendDue, this, 0);
  }
}

function report(): void {
  const r: ClientReport = {
    type: 'tick',
    at: Date.now(),
    open: c.open,
    opened: c.opened,
    answered: c.answered,
    v2: c.v2,
    idleClosed: c.idleClosed,
    errors: Object.fromEntries(c.errors),
    hist: Object.fromEntries(c.hist),
    maxMs: c.maxMs,
    loopP99Ms: loop.percentile(99) / 1e6,
  };
  loop.reset();
  c = fresh(c.open);
  process.send?.(r);
}

function run(job: ClientJob): User[] {
  const users = Array.from({ length: job.count }, (_, i) => new User(job, job.first + i));
  users.forEach((u, i) => wheel.at(Math.max(0, job.startAt + (job.rampMs * i) / job.count - Date.now()), sendDue, u, 0));
  return users;
}

let users: User[] = [];
const ticker = setInterval(report, 1_000);
loop.enable();
process.on('message', (m: { type: 'start'; job: ClientJob } | { type: 'stop' }) => {
  if (m.type === 'start') users = run(m.job);
  else {
    stopping = true;
    users.forEach((u) => u.stop());
    wheel.stop();
    report();
    clearInterval(ticker);
    process.send?.({ type: 'stopped' }, () => process.exit(0));
  }
});
// Never outlive the parent.
process.on('disconnect', () => process.exit(0));
