/**
 * The webhook gate holding a release now, for `GET /api/v1/releases/:id`: the controller writes
 * each hold as the release's reason together with a `release.gate` audit event carrying its
 * fields (control/gate-step.ts); the hold is current while the release is pending or
 * progressing and its reason is still that event's. Costs one query, and only while a reason
 * reads like a hold.
 */
import { isGateHoldText } from '../core/gate-hold.js';
import type { Release } from '../core/types.js';
import type { Store } from '../store/store.js';
import type { Static } from 'typebox';
import type { GateHoldOut } from './schemas/releases.js';

type GateHoldJson = Static<typeof GateHoldOut>;

/** The gate holding `release`, or null when none does. */
export async function currentGateHold(store: Pick<Store, 'listAudit'>, release: Release): Promise<GateHoldJson | null> {
  if ((release.status !== 'pending' && release.status !== 'progressing') || !isGateHoldText(release.reason)) return null;
  const [latest] = await store.listAudit({ service: release.service, action: 'release.gate', limit: 1 });
  if (!latest || latest.target !== `release/${release.id}` || latest.reason !== release.reason || !latest.detail) return null;
  const d = latest.detail;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const int = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) ? v : 0);
  return {
    gate: str(d.gate),
    hook: str(d.hook),
    answer: str(d.answer),
    status: typeof d.status === 'number' ? d.status : null,
    detail: str(d.detail),
    reason: typeof d.reason === 'string' ? d.reason : null,
    failures: int(d.failures),
    maxFailures: int(d.maxFailures),
    since: str(d.since),
  };
}
