/**
 * What a data plane tells the control plane about itself (issue 12, DESIGN §2): its kind, what
 * it can execute, and the routing version it executes now. Plain types shared by the gateway
 * (which reports as the `builtin` data plane), the router providers (which re-export them from
 * src/providers/routers/router.ts) and the API (which validates the reports).
 */

export type DataPlaneKind = 'builtin' | 'haproxy' | 'nginx';

/** What a data plane can execute; a service needing more is refused when it is configured. */
export interface RouterFeatures {
  /** Rules with `regex` (the built-in gateway; not HAProxy or NGINX without a slow per-request script). */
  readonly regexRules: boolean;
  /** Rules with `header` + `equals` / `cookie` + `equals`. */
  readonly equalsRules: boolean;
  /** WebSocket upgrades. */
  readonly websocket: boolean;
  /** Sticky bucket hashes it computes (`xxh32` everywhere; `murmur3` only where older releases may still run). */
  readonly bucketHashes: readonly string[];
}

/**
 * The body of `POST /api/v1/dataplane/status`: sent after every applied table and every 5 s
 * (heartbeat); a data plane is live while its last report is under 20 s old.
 */
export interface DataPlaneStatusReport {
  /** 1..200 characters; also the `gateway` of its metric pushes. */
  readonly dataPlane: string;
  readonly kind: DataPlaneKind;
  /** The routing version executed now; 0 before any table. */
  readonly appliedVersion: number;
  readonly features: RouterFeatures;
  /** The services it carries; null when it carries every service. */
  readonly services: readonly string[] | null;
  /** Sent once on a clean stop: the data plane is no longer live. */
  readonly leaving?: true;
}
