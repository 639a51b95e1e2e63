/**
 * Following `GET /api/v1/events`: a Server-Sent Events parser (WHATWG HTML §9.2.6, "Interpreting
 * an event stream") and a loop that keeps the stream open, reconnecting with `Last-Event-ID`
 * (§9.2.4) after a drop so the server replays what was missed.
 */
import type { ReadOptions, TernClient } from '../client.js';
import { ApiError } from '../errors.js';

export interface SseMessage {
  /** The last event id seen on the stream so far (ids persist across messages, per the spec). */
  readonly lastEventId: string;
  readonly event: string;
  readonly data: string;
}

export interface SseParser {
  /** Feeds decoded text; complete messages are handed to the callback as they end. */
  push(text: string): void;
  /** The id to send as `Last-Event-ID` on reconnect ('' when none was seen). */
  readonly lastEventId: string;
}

/** Creates an incremental parser; lines may end in CRLF, LF or CR and may arrive split anywhere. */
export function createSseParser(onMessage: (message: SseMessage) => void): SseParser {
  let buffer = '';
  let lastEventId = '';
  let event = '';
  let data: string[] = [];

  const line = (text: string): void => {
    if (text === '') {
      // A blank line dispatches; a message without data is dropped (§9.2.6 "dispatch the event").
      if (data.length > 0) onMessage({ lastEventId, event: event || 'message', data: data.join('\n') });
      event = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return; // comment: the server's heartbeat
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    const value = colon < 0 ? '' : text.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) lastEventId = value;
  };

  return {
    push(text) {
      buffer += text;
      for (;;) {
        const end = buffer.search(/\r\n|\r|\n/);
        // A lone CR at the very end may be the first half of a CRLF still on its way.
        if (end < 0 || (end === buffer.length - 1 && buffer.endsWith('\r'))) return;
        const width = buffer.startsWith('\r\n', end) ? 2 : 1;
        line(buffer.slice(0, end));
        buffer = buffer.slice(end + width);
      }
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}

export interface EventLoopOptions extends ReadOptions {
  readonly client: TernClient;
  /** Called with each message's parsed JSON `data` (messages that are not JSON are skipped). */
  readonly onEvent: (data: unknown) => void;
  /** Called each time the stream is (re)opened, so the caller can catch up by reading state. */
  readonly onOpen?: () => void;
  /** Called when the stream drops or cannot be opened, with a reason a person can read. */
  readonly onDrop?: (reason: string) => void;
  /** First reconnect delay in ms, doubled up to 10 s while failures continue. Default 500. */
  readonly retryMs?: number;
}

/**
 * Keeps the event stream open until `signal` aborts. Never rejects: a refused stream (401, 403,
 * 404) ends the loop after one `onDrop`, anything else reconnects with `Last-Event-ID`.
 */
export async function followEventStream(options: EventLoopOptions): Promise<void> {
  const { client, signal } = options;
  const parser = createSseParser((m) => {
    try {
      options.onEvent(JSON.parse(m.data));
    } catch {
      // not JSON: not an event this CLI knows
    }
  });
  const firstDelay = options.retryMs ?? 500;
  let delay = firstDelay;
  while (!signal?.aborted) {
    try {
      const body = await client.openEventStream({ signal, lastEventId: parser.lastEventId || undefined });
      delay = firstDelay;
      options.onOpen?.();
      const decoder = new TextDecoder();
      for await (const chunk of body) parser.push(decoder.decode(chunk, { stream: true }));
      if (!signal?.aborted) options.onDrop?.('the server closed the event stream');
    } catch (err) {
      if (signal?.aborted) return;
      options.onDrop?.(err instanceof Error ? err.message : String(err));
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) return;
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 10_000);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
