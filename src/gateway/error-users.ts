/**
 * Who got the errors: per one-second window, a bounded tally of errors by user, so the judges
 * can tell one heavy sticky user (a bot, a poison request) from a regression that hits many
 * (docs/analysis.md, "One heavy user": one heavy sticky user cannot decide a release alone).
 *
 * The user key (split.ts: the sticky header, the sticky cookie or the client IP) may be personal
 * data, so it never leaves the gateway: only a 32-bit MurmurHash3 of it, keyed by a fixed salt
 * and the release's salt, as 8 hex digits. Every gateway replica computes the same hash for the
 * same user of a release, so the control plane can add up their reports; hashes of one user in
 * two releases differ. This is pseudonymisation, not anonymity: whoever knows the release salt
 * can test a guessed key (an IPv4 address space is small enough to try in full).
 *
 * Only failed requests reach this file; a successful request costs nothing here.
 */
import { murmur3 } from '../core/murmur3.js';

/** Distinct users tallied per window; errors of users beyond it are not attributed. */
export const MAX_USERS_PER_WINDOW = 1_000;
/** Users reported per window: the ones with the most errors. */
export const TOP_USERS_PER_WINDOW = 8;
/** Fixed seed: the same on every gateway, so hashes of one user agree across replicas. */
const SEED = 0x7465726e; // "tern"

/** The reported form of a user key: 8 lower-case hex digits. */
export function userHash(releaseSalt: string, userKey: string): string {
  return murmur3(`${releaseSalt}\u0000${userKey}`, SEED).toString(16).padStart(8, '0');
}

/** Adds one error of `hash` to `tally`, unless the tally is full and the user is new. */
export function countUserError(tally: Map<string, number>, hash: string): void {
  const seen = tally.get(hash);
  if (seen !== undefined) tally.set(hash, seen + 1);
  else if (tally.size < MAX_USERS_PER_WINDOW) tally.set(hash, 1);
}

/** The `limit` entries with the most errors (ties by hash, so every replica picks the same), or undefined when none. */
export function topUsers(entries: Iterable<readonly [string, number]>, limit: number): Record<string, number> | undefined {
  const top = [...entries]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, limit);
  return top.length === 0 ? undefined : Object.fromEntries(top);
}
