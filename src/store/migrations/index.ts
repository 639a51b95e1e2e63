/**
 * Every schema migration, oldest first. Append new ones at the end with the next version;
 * never edit or reorder a released one (databases in the field have recorded it as applied).
 */
import { initial } from './001-initial.js';
import { verdicts } from './002-verdicts.js';
import { leases } from './003-leases.js';
import { deployWebhooks } from './004-deploy-webhooks.js';
import { errorAttribution } from './005-error-attribution.js';
import { auditRetention } from './006-audit-retention.js';
import { feedbackAudit } from './007-feedback-audit.js';
import { bucketHash } from './008-bucket-hash.js';
import { dataPlanes } from './009-data-planes.js';
import { windowSource } from './010-window-source.js';
import { serviceMetrics } from './011-service-metrics.js';
import type { Migration } from './migration.js';

export const MIGRATIONS: readonly Migration[] = [
  initial,
  verdicts,
  leases,
  deployWebhooks,
  errorAttribution,
  auditRetention,
  feedbackAudit,
  bucketHash,
  dataPlanes,
  windowSource,
  serviceMetrics,
];
