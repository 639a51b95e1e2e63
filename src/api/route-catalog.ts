/**
 * Every route the app registers, with its access policy, collected by an `onRoute` hook. A
 * route without an access policy is refused at registration, so none can slip out
 * unprotected; tests generate the role matrix from this list rather than from a hand-made one.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { ACCESS_LEVELS, type Access, type RouteAudit } from './route-config.js';

export interface CatalogEntry {
  readonly method: string;
  /** Route pattern, e.g. `/api/v1/releases/:id/promote`. */
  readonly url: string;
  readonly access: Access;
  readonly audit: RouteAudit | undefined;
  readonly stream: boolean;
}

export interface RouteCatalog {
  readonly entries: readonly CatalogEntry[];
  /** Methods registered for a concrete path (for 405 answers); empty when no route matches. */
  methodsFor(path: string): string[];
}

const catalogs = new WeakMap<object, RouteCatalog>();

/** The catalog of an app built by buildApp. @throws Error for an app buildApp did not build. */
export function routeCatalog(app: FastifyInstance): RouteCatalog {
  const catalog = catalogs.get(app);
  if (!catalog) throw new Error('this Fastify instance was not built by buildApp');
  return catalog;
}

/** Starts collecting routes of `app`; registration throws for a route with no valid `config.access`. */
export function collectRoutes(app: FastifyInstance): RouteCatalog {
  const entries: CatalogEntry[] = [];
  const patterns: { method: string; regex: RegExp }[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const access = route.config?.access;
    if (access === undefined || !ACCESS_LEVELS.includes(access)) {
      throw new Error(`route ${String(route.method)} ${route.url} has no access policy (config.access)`);
    }
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue; // Fastify's automatic HEAD twins share the GET route's config.
      entries.push({ method, url: route.url ?? '', access, audit: route.config?.audit, stream: route.config?.stream === true });
      patterns.push({ method, regex: toRegex(route.url ?? '') });
    }
  });
  const catalog: RouteCatalog = {
    entries,
    methodsFor: (path) => [...new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method))].sort(),
  };
  catalogs.set(app, catalog);
  return catalog;
}

function toRegex(url: string): RegExp {
  const body = url
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}$`);
}
