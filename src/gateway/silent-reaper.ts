/**
 * Closes connections that have not sent a byte within the headers timeout of being accepted,
 * without walking every open connection and without a timer per connection.
 *
 * Node's own headers timeout is enforced by a sweep (`connectionsCheckingInterval`) that walks
 * all open connections in C++ each time: ~4.4 ms for 16,000 (CPU profile of
 * bench/hostile/connections.ts), so a sweep often enough to close idle connections on time
 * (every 100 ms) cost 4% of a core and a 4 ms stall ten times a second, and a sweep once a
 * second let them live up to a second past the timeout and closed ~1,500 at once. Here accepted
 * connections go into buckets by due time (`tickMs` wide, in accept order, so only the due
 * buckets are ever looked at; one that closes earlier leaves its bucket, so closed sockets are
 * not held until due); a due connection that is still silent is handed to the close
 * queue (close-queue.ts), which destroys it a slice per turn of the loop. Connections that sent
 * something stay with node's sweep, which answers a late request head with 408.
 */
import type { Socket } from 'node:net';
import type { CloseQueue } from './close-queue.js';

interface Bucket {
  readonly due: number;
  readonly sockets: Set<Socket>;
}

/** The bucket a watched socket is in, so a socket that closes early is not held until due. */
const inBucket = Symbol('tern.silentBucket');
type Watched = Socket & { [inBucket]?: Bucket | undefined };

/** The one `close` listener of every watched socket (no closure per connection). */
function forget(this: Watched): void {
  this[inBucket]?.sockets.delete(this);
  this[inBucket] = undefined;
}

/** Closes sockets still silent `timeoutMs` after `watch`, at most `tickMs` late. */
export class SilentReaper {
  readonly #buckets: Bucket[] = [];
  #timer: NodeJS.Timeout | null = null;
  readonly #tick = (): void => this.#reap();

  /**
   * @param timeoutMs how long a connection may stay silent (> 0)
   * @param tickMs bucket width and check period; default a fiftieth of the timeout, 10–100 ms
   */
  constructor(
    readonly timeoutMs: number,
    readonly closer: CloseQueue,
    readonly tickMs = Math.min(100, Math.max(10, Math.floor(timeoutMs / 50))),
  ) {}

  /** Connections watched and not yet due. */
  get watched(): number {
    return this.#buckets.reduce((n, b) => n + b.sockets.size, 0);
  }

  /** Closes `socket` if it has sent nothing `timeoutMs` from now. */
  watch(socket: Socket): void {
    const due = Math.ceil((performance.now() + this.timeoutMs) / this.tickMs) * this.tickMs;
    let last = this.#buckets.at(-1);
    if (last === undefined || last.due !== due) {
      last = { due, sockets: new Set() };
      this.#buckets.push(last);
    }
    last.sockets.add(socket);
    (socket as Watched)[inBucket] = last;
    socket.once('close', forget);
    if (this.#timer === null) this.#timer = setInterval(this.#tick, this.tickMs).unref();
  }

  /** Stops watching (the listener closed); watched sockets are left to their owner. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const bucket of this.#buckets) for (const socket of bucket.sockets) (socket as Watched)[inBucket] = undefined;
    this.#buckets.length = 0;
  }

  #reap(): void {
    const now = performance.now();
    let due = 0;
    while (due < this.#buckets.length && this.#buckets[due]!.due <= now) {
      for (const socket of this.#buckets[due]!.sockets) {
        (socket as Watched)[inBucket] = undefined;
        socket.off('close', forget);
        if (!socket.destroyed && socket.bytesRead === 0) this.closer.destroy(socket);
      }
      due++;
    }
    this.#buckets.splice(0, due);
    if (this.#buckets.length === 0) this.stop();
  }
}
