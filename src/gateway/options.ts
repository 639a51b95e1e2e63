/**
 * Validates the gateway's options where they enter (STYLE.md: options checked at the door),
 * so a typo fails startGateway with a message naming the option, not a request hours later.
 */
import { ValidationError } from '../core/errors.js';

export interface CheckedOptions {
  readonly host: string;
  readonly port: number;
  readonly controlPlane?: {
    readonly url: string | readonly string[];
    readonly token: string;
    readonly waitSeconds?: number;
    readonly pushIntervalMs?: number;
    readonly statusIntervalMs?: number;
  };
  readonly healthCheck?: { readonly path: string } & Readonly<Record<string, unknown>>;
  readonly outlier?: Readonly<Record<string, unknown>>;
  readonly pool?: Readonly<Record<string, unknown>>;
  readonly admin?: { readonly host?: string; readonly port?: number } | false;
  readonly maxHeaderSize?: number;
  readonly startupWaitMs?: number;
  readonly closeGraceMs?: number;
  readonly limits?: Readonly<Record<string, unknown>>;
  readonly warmUpRequests?: number;
}

function integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
}

function numbers(group: Readonly<Record<string, unknown>> | undefined, field: string, minimums: Readonly<Record<string, number>>): void {
  if (group === undefined) return;
  for (const [key, min] of Object.entries(minimums)) integer(group[key], `${field}.${key}`, min);
}

function checkControlPlane(cp: CheckedOptions['controlPlane']): void {
  if (cp === undefined) return;
  const urls = typeof cp.url === 'string' ? [cp.url] : cp.url;
  if (urls.length === 0) throw new ValidationError('controlPlane.url', "expected at least one control plane's base URL");
  for (const raw of urls) {
    const url = URL.canParse(raw) ? new URL(raw) : null;
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new ValidationError(
        'controlPlane.url',
        `expected the control plane's http(s) base URL, e.g. http://127.0.0.1:7070, got ${JSON.stringify(raw)}`,
      );
    }
  }
  if (typeof cp.token !== 'string' || cp.token === '') throw new ValidationError('controlPlane.token', 'expected the gateway token');
  integer(cp.waitSeconds, 'controlPlane.waitSeconds', 1, 60);
  integer(cp.pushIntervalMs, 'controlPlane.pushIntervalMs', 10);
  integer(cp.statusIntervalMs, 'controlPlane.statusIntervalMs', 10);
}

/** @throws ValidationError naming the first option that is out of range. */
export function checkOptions(o: CheckedOptions): void {
  if (typeof o.host !== 'string' || o.host === '') throw new ValidationError('host', 'expected an address to listen on, e.g. 127.0.0.1');
  integer(o.port, 'port', 0, 65_535);
  if (o.admin) integer(o.admin.port, 'admin.port', 0, 65_535);
  checkControlPlane(o.controlPlane);
  if (o.healthCheck !== undefined && (typeof o.healthCheck.path !== 'string' || !o.healthCheck.path.startsWith('/'))) {
    throw new ValidationError('healthCheck.path', 'expected a path starting with /, e.g. /healthz');
  }
  numbers(o.healthCheck, 'healthCheck', { intervalMs: 10, timeoutMs: 1, healthyThreshold: 1, unhealthyThreshold: 1 });
  numbers(o.outlier, 'outlier', { consecutiveFailures: 1, baseEjectionMs: 1, maxEjectionMs: 1 });
  numbers(o.pool, 'pool', { connectTimeoutMs: 1, headersTimeoutMs: 1, bodyTimeoutMs: 0, keepAliveTimeoutMs: 1, connections: 1 });
  integer(o.maxHeaderSize, 'maxHeaderSize', 1_024);
  integer(o.startupWaitMs, 'startupWaitMs', 0);
  integer(o.closeGraceMs, 'closeGraceMs', 0);
  integer(o.warmUpRequests, 'warmUpRequests', 0, 100_000);
  checkLimits(o.limits);
}

function checkLimits(limits: CheckedOptions['limits']): void {
  if (limits === undefined) return;
  numbers(limits, 'limits', { headersTimeoutMs: 0, requestTimeoutMs: 0, bodyIdleTimeoutMs: 0, keepAliveTimeoutMs: 1 });
  numbers(limits, 'limits', { maxConnections: 1, maxConnectionsPerClient: 1 });
  // node:http keeps at most 2,000 header lines by default; the screen needs to see one more than the cap.
  integer(limits.maxHeaderCount, 'limits.maxHeaderCount', 1, 1_999);
  const { headersTimeoutMs: headers, requestTimeoutMs: request } = limits;
  if (typeof headers === 'number' && typeof request === 'number' && headers > 0 && request > 0 && headers > request) {
    throw new ValidationError('limits.headersTimeoutMs', `must not exceed limits.requestTimeoutMs (${request} ms), got ${headers} ms`);
  }
}
