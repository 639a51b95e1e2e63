/**
 * PgChangeFeed: tells every store sharing a PostgreSQL database (several controllers, an API
 * replica) about each other's committed changes with LISTEN/NOTIFY. The writer NOTIFYs inside
 * its write transaction, so PostgreSQL delivers the notification only if, and when, the
 * transaction commits, and in commit order
 * (https://www.postgresql.org/docs/15/sql-notify.html). The payload is small — who sent it,
 * what changed, the routing version and the audit event's id — and a listener re-reads the
 * audit event. Notifications sent while the listening connection is down are lost, so the
 * feed reconnects with backoff and logs the gap; consumers that must not miss a routing
 * change compare routing versions, which the next delivered change carries.
 */
import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { escapeIdentifier } from 'pg';
import type { Client, Notification } from 'pg';
import type { Logger } from 'pino';
import type { StoreChange } from '../store.js';
import type { ChangeFeed } from '../kysely/change-feed.js';
import { toAuditEvent } from '../kysely/rows.js';
import type { Database } from '../kysely/schema.js';

export interface PgChangeFeedOptions {
  /** The schema the store's tables live in: stores in other schemas of the database are not heard. */
  readonly schema: string;
  /** A new, unconnected client for the listening connection. */
  readonly client: () => Client;
  /** Where announced audit events are read back. */
  readonly db: Kysely<Database>;
  readonly logger?: Logger | undefined;
  /** Reconnect backoff bounds; default 100 ms doubling up to 5 s. */
  readonly reconnectMs?: { readonly min: number; readonly max: number };
}

/** What travels in a notification; one-letter keys keep it far below PostgreSQL's 8000-byte limit. */
interface Payload {
  /** The announcing store (its own announcements are ignored: it published them itself). */
  readonly o: string;
  readonly k: StoreChange['kind'];
  readonly i: string;
  readonly s: string | null;
  readonly r: number;
  /** Audit event id. */
  readonly e: number;
}

const KINDS: ReadonlySet<string> = new Set<StoreChange['kind']>(['service', 'release', 'token']);

/** The notification channel of a schema; identifiers longer than 63 bytes would be truncated, so long names are hashed. */
export function channelFor(schema: string): string {
  const channel = `tern_changes_${schema}`;
  return Buffer.byteLength(channel) <= 63 ? channel : `tern_changes_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

function parsePayload(text: string): Payload | undefined {
  try {
    const p = JSON.parse(text) as Partial<Payload>;
    const ok =
      typeof p.o === 'string' &&
      typeof p.k === 'string' &&
      KINDS.has(p.k) &&
      typeof p.i === 'string' &&
      (p.s === null || typeof p.s === 'string') &&
      typeof p.r === 'number' &&
      typeof p.e === 'number';
    return ok ? (p as Payload) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts listening and returns the feed. @throws whatever connecting or LISTEN throws (the
 * caller turns it into StoreError).
 */
export async function openPgChangeFeed(options: PgChangeFeedOptions): Promise<ChangeFeed> {
  const { db, logger } = options;
  const channel = channelFor(options.schema);
  const origin = randomUUID();
  const backoff = options.reconnectMs ?? { min: 100, max: 5000 };
  let publish: ((change: StoreChange) => void) | undefined;
  let client: Client | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let delay = backoff.min;
  // Deliveries run one after another, so subscribers hear other stores' changes in commit order.
  let deliveries: Promise<void> = Promise.resolve();

  async function deliver(payload: Payload): Promise<void> {
    const row = await db.selectFrom('audit_events').selectAll().where('id', '=', payload.e).executeTakeFirst();
    if (!row) {
      logger?.warn({ audit: payload.e, channel }, 'announced audit event not found; change not delivered');
      return;
    }
    const audit = toAuditEvent(row);
    publish?.({ kind: payload.k, action: audit.action, id: payload.i, service: payload.s, routingVersion: payload.r, audit });
  }

  function onNotification(message: Notification): void {
    if (message.channel !== channel || message.payload === undefined) return;
    const payload = parsePayload(message.payload);
    if (!payload) {
      logger?.warn({ channel }, 'malformed change notification ignored');
      return;
    }
    if (payload.o === origin) return;
    deliveries = deliveries.then(
      () => deliver(payload),
      () => deliver(payload),
    );
    deliveries.catch((err: unknown) =>
      logger?.error({ err, audit: payload.e }, 'reading an announced change failed; change not delivered'),
    );
  }

  async function listen(): Promise<void> {
    const next = options.client();
    next.on('notification', onNotification);
    // Without a listener an 'error' event would crash the process; the 'end' that follows reconnects.
    next.on('error', (err) => logger?.warn({ err }, 'change feed connection failed'));
    next.on('end', () => lost(next));
    try {
      await next.connect();
      await next.query(`listen ${escapeIdentifier(channel)}`);
    } catch (err) {
      next.removeAllListeners('end');
      await next.end().catch(() => undefined);
      throw err;
    }
    if (closed) {
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
    delay = backoff.min;
  }

  function lost(which: Client): void {
    if (closed || which !== client) return;
    client = undefined;
    logger?.warn({ channel }, 'change feed connection lost; reconnecting (changes other stores make meanwhile are not announced here)');
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (closed) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      listen().then(
        () => logger?.info({ channel }, 'change feed reconnected'),
        (err: unknown) => {
          logger?.warn({ err, retryInMs: delay }, 'change feed reconnect failed');
          delay = Math.min(delay * 2, backoff.max);
          scheduleReconnect();
        },
      );
    }, delay);
    // The feed alone must not keep a process alive.
    retryTimer.unref();
  }

  await listen();

  return {
    async announce(trx, change) {
      const payload: Payload = { o: origin, k: change.kind, i: change.id, s: change.service, r: change.routingVersion, e: change.audit.id };
      await sql`select pg_notify(${channel}, ${JSON.stringify(payload)})`.execute(trx);
    },
    deliverTo(fn) {
      publish = fn;
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      const last = client;
      client = undefined;
      await last?.end().catch(() => undefined);
      await deliveries.catch(() => undefined);
    },
  };
}
