/**
 * Live changes from `GET /api/v1/events` (Server-Sent Events, WHATWG HTML §9.2). EventSource
 * cannot send an Authorization header, so this reads the stream with fetch() and parses the
 * `text/event-stream` lines itself; it reconnects with backoff and `Last-Event-ID`, so the
 * server replays what was missed while the connection was down.
 */
import type { ChangeEventJson } from '../../src/api/types';
import { toApiError } from './api';

/** One change as the API sends it (declared once beside its schema). */
export type ChangeEvent = ChangeEventJson;

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';

export interface LiveOptions {
  readonly token: string;
  readonly onEvent: (event: ChangeEvent) => void;
  readonly onStatus: (status: LiveStatus) => void;
  /** The token was refused (401): the session is over, do not reconnect. */
  readonly onUnauthorized: (message: string) => void;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;

/** Opens the stream and keeps it open until the returned function is called. */
export function connectLive(options: LiveOptions): () => void {
  const abort = new AbortController();
  let lastEventId: string | null = null;
  let backoff = MIN_BACKOFF_MS;
  let stopped = false;

  const run = async (): Promise<void> => {
    let first = true;
    while (!stopped) {
      options.onStatus(first ? 'connecting' : 'reconnecting');
      first = false;
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'text/event-stream' };
        if (lastEventId !== null) headers['last-event-id'] = lastEventId;
        const res = await fetch('/api/v1/events', { headers, signal: abort.signal, cache: 'no-store' });
        if (res.status === 401) {
          options.onUnauthorized((await toApiError(res)).message);
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        options.onStatus('live');
        backoff = MIN_BACKOFF_MS;
        await readStream(res.body, (id, data) => {
          if (id !== null) lastEventId = id;
          try {
            options.onEvent(JSON.parse(data) as ChangeEvent);
          } catch {
            // a malformed event is skipped, the stream goes on
          }
        });
      } catch {
        if (stopped) return;
      }
      if (stopped) return;
      options.onStatus('reconnecting');
      await sleep(backoff, abort.signal);
      backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
    }
  };
  void run();
  return () => {
    stopped = true;
    abort.abort();
  };
}

/** Parses `text/event-stream`: fields per line, an empty line ends an event, `:` lines are comments. */
async function readStream(body: ReadableStream<Uint8Array>, onMessage: (id: string | null, data: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let id: string | null = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (data.length > 0) onMessage(id, data.join('\n'));
        data = [];
        id = null;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(val);
      else if (field === 'id') id = val;
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
