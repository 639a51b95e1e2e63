/**
 * Webhooks and deploy drivers to the API's JSON: durations as text and ms, times ISO 8601, and
 * nothing secret — webhook URLs redacted (token-like path segments and query values as ***),
 * environment values as ***, no log file paths.
 */
import { formatDuration } from '../core/duration.js';
import type { Deployment, DeploySpec, Webhook } from '../core/types.js';
import { redactUrl } from '../core/webhooks.js';
import type { Static } from 'typebox';
import { iso, isoOrNull } from './input.js';
import type { DeploymentOut, DeployOut } from './schemas/deploy.js';
import type { WebhookOut } from './schemas/webhooks.js';

export function webhookJson(w: Webhook): Static<typeof WebhookOut> {
  return {
    type: w.type,
    url: redactUrl(w.url),
    timeout: formatDuration(w.timeoutMs),
    timeoutMs: w.timeoutMs,
    retries: w.retries,
    maxFailures: w.maxFailures,
    format: w.format,
    events: w.events === null ? null : [...w.events],
  };
}

export function deployJson(d: DeploySpec | undefined): Static<typeof DeployOut> {
  if (d === undefined || d.driver === 'static') return { driver: 'static' };
  return {
    driver: d.driver,
    command: d.command,
    instances: d.instances,
    readiness: { path: d.readiness.path, timeout: formatDuration(d.readiness.timeoutMs), timeoutMs: d.readiness.timeoutMs },
    env: Object.fromEntries(Object.keys(d.env).map((k) => [k, '***'])),
    cwd: d.cwd,
    retireAfter: formatDuration(d.retireAfterMs),
    retireAfterMs: d.retireAfterMs,
  };
}

export function deploymentJson(d: Deployment | null | undefined): Static<typeof DeploymentOut> | null {
  if (!d) return null;
  return {
    driver: d.driver,
    state: d.state,
    instances: d.instances.map((i) => ({ index: i.index, pid: i.pid, endpoint: i.endpoint, startedAt: iso(i.startedAt) })),
    retiredAt: isoOrNull(d.retiredAt),
  };
}
