/**
 * `GET /api/v1/events`: Server-Sent Events (WHATWG HTML §9.2) of committed store changes.
 * Each event's `id` is its audit event id, so a client reconnecting with `Last-Event-ID`
 * first gets the changes it missed (replayed from the audit log), then live ones. A comment
 * line every 15 s keeps proxies from closing an idle stream.
 */
import type { Static } from 'typebox';
import type { AuditEvent } from '../../core/types.js';
import type { Store, StoreChange } from '../../store/store.js';
import { auditJson } from '../present.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import type { ChangeEventOut } from '../schemas/audit.js';

export const HEARTBEAT_MS = 15_000;
/** At most this many missed changes are replayed; older ones are in `GET /api/v1/audit`. */
export const MAX_REPLAY = 1000;
const MAX_BUFFERED_BYTES = 1024 * 1024;
const CHANGE_KINDS = ['service', 'release', 'token'] as const;

/** The `data` of one event. `routingVersion` is null for replayed events (the audit log does not keep it). */
export type ChangeEvent = Static<typeof ChangeEventOut>;

/** Registers the SSE route. */
export function registerEventRoutes(app: TernApp, { store, closing }: ApiDeps): void {
  app.get(
    '/api/v1/events',
    {
      config: { access: 'read', stream: true },
      schema: {
        tags: ['live'],
        summary: 'Server-Sent Events of changes; data is a JSON ChangeEvent, id the audit event id (send Last-Event-ID to resume)',
        response: { 200: { description: 'an event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
      },
    },
    async (request, reply) => {
      const lastId = parseLastEventId(request.headers['last-event-id']);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
      });
      raw.write(': connected\n\n');
      let sentUpTo = lastId ?? 0;
      const pending: StoreChange[] = [];
      let replaying = true;
      const send = (event: ChangeEvent) => {
        if (event.audit.id <= sentUpTo) return; // already sent during the replay
        sentUpTo = event.audit.id;
        raw.write(`id: ${event.audit.id}\ndata: ${JSON.stringify(event)}\n\n`);
        // A client that stopped reading is cut off rather than buffered without bound; it
        // reconnects with Last-Event-ID and gets the rest from the audit log.
        if (raw.writableLength > MAX_BUFFERED_BYTES) raw.destroy();
      };
      const unsubscribe = store.subscribe((change) => (replaying ? pending.push(change) : send(fromChange(change))));
      const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), HEARTBEAT_MS);
      const unClose = closing.onClose(() => raw.end());
      raw.once('close', () => {
        unsubscribe();
        clearInterval(heartbeat);
        unClose();
      });
      try {
        if (lastId !== null) for (const e of await missedSince(store, lastId)) send(fromAudit(e));
      } catch (err) {
        request.log.warn({ err }, 'could not replay missed events');
      }
      replaying = false;
      for (const change of pending.splice(0)) send(fromChange(change));
    },
  );
}

function parseLastEventId(header: string | string[] | undefined): number | null {
  const text = Array.isArray(header) ? header[0] : header;
  return text !== undefined && /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : null;
}

function fromChange(c: StoreChange): ChangeEvent {
  return { kind: c.kind, action: c.action, id: c.id, service: c.service, routingVersion: c.routingVersion, audit: auditJson(c.audit) };
}

function fromAudit(e: AuditEvent): ChangeEvent {
  const [kind = '', id = ''] = e.target.split('/', 2) as [string?, string?];
  return { kind: kind as StoreChange['kind'], action: e.action, id, service: e.service, routingVersion: null, audit: auditJson(e) };
}

/** Successful state changes after `lastId`, oldest first, at most MAX_REPLAY. */
async function missedSince(store: Store, lastId: number): Promise<AuditEvent[]> {
  const found: AuditEvent[] = [];
  let before: number | undefined;
  while (found.length < MAX_REPLAY) {
    const page = await store.listAudit({ limit: 1000, ...(before === undefined ? {} : { before }) });
    const newer = page.filter((e) => e.id > lastId);
    found.push(...newer.filter(isChange));
    if (page.length < 1000 || newer.length < page.length) break;
    before = page[page.length - 1]!.id;
  }
  return found.slice(0, MAX_REPLAY).reverse();
}

function isChange(e: AuditEvent): boolean {
  return e.outcome === 'success' && CHANGE_KINDS.some((k) => e.target.startsWith(`${k}/`));
}
