/**
 * The Store contract suite (node:test): every behaviour of the Store interface that callers
 * rely on, written once and run unchanged against each implementation (SQLite, PostgreSQL).
 * Each test gets a fresh, empty store from `open` and cleans it up afterwards.
 */
import { alertsContract } from './contract/alerts.contract.js';
import { auditContract } from './contract/audit.contract.js';
import { dataPlanesContract } from './contract/data-planes.contract.js';
import { deployWebhooksContract } from './contract/deploy-webhooks.contract.js';
import { evidenceContract } from './contract/evidence.contract.js';
import { feedbackAuditContract } from './contract/feedback-audit.contract.js';
import { freshStorePerTest, suite } from './contract/harness.js';
import type { OpenStore } from './contract/harness.js';
import { leasesContract } from './contract/leases.contract.js';
import { lifecycleContract } from './contract/lifecycle.contract.js';
import { releasesContract } from './contract/releases.contract.js';
import { routingContract } from './contract/routing.contract.js';
import { servicesContract } from './contract/services.contract.js';
import { tokensContract } from './contract/tokens.contract.js';
import { verdictsContract } from './contract/verdicts.contract.js';

export type { OpenStore };

/** Registers the contract suite for one implementation; `open` must return a fresh, empty store using the given clock. */
export function storeContract(name: string, open: OpenStore): void {
  suite(`Store contract: ${name}`, () => {
    const ctx = freshStorePerTest(open);
    servicesContract(ctx);
    releasesContract(ctx);
    routingContract(ctx);
    evidenceContract(ctx);
    feedbackAuditContract(ctx);
    alertsContract(ctx);
    verdictsContract(ctx);
    auditContract(ctx);
    tokensContract(ctx);
    leasesContract(ctx);
    lifecycleContract(ctx);
    deployWebhooksContract(ctx);
    dataPlanesContract(ctx);
  });
}
