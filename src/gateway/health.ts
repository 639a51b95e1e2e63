/**
 * Endpoint health: passive outlier ejection from real traffic, and optional active checks.
 *
 * Passive: `consecutiveFailures` gateway-level failures in a row (connect refused or timed out,
 * connection reset, response timeout) eject an endpoint for `baseEjectionMs × 2^k` (k = earlier
 * ejections, capped at `maxEjectionMs`), as Envoy's outlier detection does. HTTP 5xx answers
 * do NOT count: a canary that answers 500 must stay in the traffic so analysis sees its errors
 * and rolls it back, rather than being hidden behind stable by ejection.
 *
 * Active: every `intervalMs`, GET `basePath + path` on each live endpoint; 2xx/3xx within
 * `timeoutMs` is a success. `unhealthyThreshold` failures in a row mark it unhealthy,
 * `healthyThreshold` successes in a row mark it healthy again.
 */
import type { Logger } from 'pino';
import type { Endpoint, EndpointRegistry } from './endpoints.js';

export interface OutlierSettings {
  readonly consecutiveFailures: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
}

export const DEFAULT_OUTLIER_SETTINGS: OutlierSettings = { consecutiveFailures: 3, baseEjectionMs: 10_000, maxEjectionMs: 300_000 };

export interface HealthCheckSettings {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export const DEFAULT_HEALTH_CHECK: Omit<HealthCheckSettings, 'path'> = {
  intervalMs: 5_000,
  timeoutMs: 2_000,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};

/** Records a request the endpoint answered (whatever the status). */
export function recordSuccess(endpoint: Endpoint): void {
  endpoint.health.consecutiveFailures = 0;
}

/** Records a gateway-level failure; returns true when this failure ejected the endpoint. */
export function recordFailure(endpoint: Endpoint, now: number, settings: OutlierSettings): boolean {
  const h = endpoint.health;
  if (now < h.ejectedUntil) return false;
  h.consecutiveFailures++;
  if (h.consecutiveFailures < settings.consecutiveFailures) return false;
  // Forget earlier ejections once the endpoint has behaved for longer than the cap, so one bad
  // hour does not follow an endpoint for ever.
  if (h.ejections > 0 && now - h.lastEjectedAt > h.lastEjectionMs + settings.maxEjectionMs) h.ejections = 0;
  const duration = Math.min(settings.maxEjectionMs, settings.baseEjectionMs * 2 ** h.ejections);
  h.ejections++;
  h.ejectedUntil = now + duration;
  h.lastEjectedAt = now;
  h.lastEjectionMs = duration;
  h.consecutiveFailures = 0;
  return true;
}

/** Applies one active-check outcome; returns the new verdict when it changed, else null. */
export function recordCheck(endpoint: Endpoint, ok: boolean, settings: HealthCheckSettings): boolean | null {
  const h = endpoint.health;
  if (ok === h.healthy) {
    h.checkStreak = 0;
    return null;
  }
  h.checkStreak++;
  const needed = ok ? settings.healthyThreshold : settings.unhealthyThreshold;
  if (h.checkStreak < needed) return null;
  h.healthy = ok;
  h.checkStreak = 0;
  if (ok) h.consecutiveFailures = 0;
  return ok;
}

async function probe(endpoint: Endpoint, settings: HealthCheckSettings): Promise<boolean> {
  try {
    const res = await endpoint.pool.request({
      path: endpoint.basePath + settings.path,
      method: 'GET',
      headers: { host: endpoint.authority, 'user-agent': 'tern-gateway-health' },
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 400;
  } catch {
    return false;
  }
}

/** Starts active checks over the registry's live endpoints; returns a stop function. */
export function startActiveChecks(registry: EndpointRegistry, settings: HealthCheckSettings, logger: Logger): () => void {
  const inFlight = new Set<Endpoint>();
  const tick = (): void => {
    for (const endpoint of registry.live()) {
      if (inFlight.has(endpoint)) continue;
      inFlight.add(endpoint);
      void probe(endpoint, settings).then((ok) => {
        inFlight.delete(endpoint);
        const changed = recordCheck(endpoint, ok, settings);
        if (changed !== null) logger.warn({ endpoint: endpoint.url, healthy: changed }, 'endpoint health changed');
      });
    }
  };
  const timer = setInterval(tick, settings.intervalMs);
  timer.unref();
  tick();
  return () => clearInterval(timer);
}
