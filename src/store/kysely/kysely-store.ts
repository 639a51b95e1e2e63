/**
 * The Store over Kysely, shared by every SQL dialect: the dialect opens the database and says
 * how transactions begin and how errors read; everything else is here and in its siblings.
 */
import type { Kysely } from 'kysely';
import type { Store } from '../store.js';
import { alertOperations } from './alerts.js';
import { auditOperations } from './audit.js';
import { dataPlaneOperations } from './data-planes.js';
import type { StoreDialect } from './dialect.js';
import { evidenceOperations } from './evidence.js';
import { feedbackAuditOperations } from './feedback-audit.js';
import { leaseOperations } from './leases.js';
import { releaseOperations } from './releases.js';
import { routingOperations } from './routing.js';
import { createRuntime } from './runtime.js';
import type { RuntimeOptions } from './runtime.js';
import type { Database } from './schema.js';
import { serviceOperations } from './services.js';
import { tokenOperations } from './tokens.js';
import { verdictOperations } from './verdicts.js';

/** Builds a Store over an open, migrated database; the store's `close()` destroys `db`. */
export function createKyselyStore(db: Kysely<Database>, dialect: StoreDialect, options: RuntimeOptions): Store {
  const rt = createRuntime(db, dialect, options);
  return {
    close: () => rt.close(),
    subscribe: (listener) => rt.subscribe(listener),
    ...serviceOperations(rt),
    ...releaseOperations(rt),
    ...routingOperations(rt),
    ...dataPlaneOperations(rt),
    ...evidenceOperations(rt),
    ...feedbackAuditOperations(rt),
    ...alertOperations(rt),
    ...verdictOperations(rt),
    ...auditOperations(rt),
    ...tokenOperations(rt),
    ...leaseOperations(rt),
  };
}
