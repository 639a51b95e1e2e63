/**
 * Closes sockets a few at a time, so closing thousands at once never stalls the event loop.
 *
 * Node's timeout sweep (`connectionsCheckingInterval`) hands every connection whose headers
 * timeout expired since the last sweep to `clientError` in one synchronous loop. Under 15,000
 * idle connections that reconnect as soon as they are closed, one sweep held ~1,500 sockets and,
 * destroying each at once, blocked the loop for 40–130 ms (CPU profile of
 * bench/hostile/connections.ts: ~70% of it in the `close(2)` of each descriptor, which on
 * loopback also runs the peer's receive path); every user request arriving meanwhile waited, and
 * a proxied request crosses the loop three times. Queued here instead, at most `SLICE` sockets
 * are destroyed per turn of the loop (`setImmediate` runs after the poll phase), so users' I/O
 * is served between slices: 64 closes take ~1.5 ms.
 */
import type { Socket } from 'node:net';

/** Sockets destroyed per turn of the event loop. */
const SLICE = 64;

/** A FIFO of sockets to destroy, drained `SLICE` per turn of the event loop. */
export class CloseQueue {
  #queue: Socket[] = [];
  #head = 0;
  #scheduled = false;
  readonly #drain = (): void => this.#slice();

  /** Sockets waiting to be destroyed. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** Destroys `socket` within a few turns of the event loop, after those queued before it. */
  destroy(socket: Socket): void {
    this.#queue.push(socket);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#drain);
    }
  }

  #slice(): void {
    const end = Math.min(this.#queue.length, this.#head + SLICE);
    for (; this.#head < end; this.#head++) this.#queue[this.#head]!.destroy();
    if (this.#head < this.#queue.length) {
      // Sockets keep arriving while it drains: drop the destroyed ones from the front now and then.
      if (this.#head >= 4_096) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      return void setImmediate(this.#drain);
    }
    this.#queue = [];
    this.#head = 0;
    this.#scheduled = false;
  }
}
