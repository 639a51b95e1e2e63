/**
 * Roles to permissions (the RBAC table). A route declares one `Access` level; a role either
 * has it or not. `gateway` tokens reach only the data-plane routes, so a leaked gateway token
 * can neither read release plans nor change anything; `feedback` tokens (held by the services
 * that collect user scores) reach only `POST /api/v1/services/:name/feedback`, so a leaked one can
 * skew scores at worst, never read or move a release.
 */
import type { Role } from '../../core/types.js';
import type { Access } from '../route-config.js';

/** Who is calling: resolved from the bearer token. */
export interface Principal {
  readonly tokenId: string;
  readonly name: string;
  readonly role: Role;
}

/** What each role may do; `public` routes need no role at all. */
export const ROLE_ACCESS: Readonly<Record<Role, readonly Access[]>> = {
  viewer: ['read', 'metrics'],
  deployer: ['read', 'release', 'feedback', 'metrics'],
  admin: ['read', 'release', 'admin', 'dataplane', 'feedback', 'metrics'],
  gateway: ['dataplane', 'metrics'],
  feedback: ['feedback'],
};

/** True when `role` may use a route that needs `access`. */
export function canAccess(role: Role, access: Access): boolean {
  return access === 'public' || ROLE_ACCESS[role].includes(access);
}

/** The audit actor for a principal (`token:<name>`), or `anonymous`. */
export function actorOf(principal: Principal | null): string {
  return principal ? `token:${principal.name}` : 'anonymous';
}
