/**
 * The dashboard's server side: `GET /api/v1/whoami` (the caller's token name, role and access
 * levels, so the page shows only the actions the role may use — the API still enforces them),
 * and the built single-page app (`dist/web`, from `web/` by `vite build`) served at `/`.
 *
 * Caching: Vite's content-hashed files under `/assets/` are immutable for a year; everything
 * else, `index.html` above all, is `no-cache` with an ETag, so a new build is picked up on the
 * next load. Paths that look like client routes (no file extension) fall back to `index.html`;
 * `/api/*` never does — unknown API paths keep the API's JSON 404.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ROLE_ACCESS } from '../auth/access.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { ERROR_RESPONSES } from '../schemas/common.js';
import { WhoAmI } from '../schemas/tokens.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
/**
 * The page loads only its own files and talks only to this origin; uPlot sizes its canvases
 * with inline style attributes, hence 'unsafe-inline' for styles (scripts stay 'self' only).
 */
const HTML_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

/**
 * Where the built app is: `dist/web` next to the compiled server (`dist/api/routes/web.js` →
 * `dist/web`), or the repository's `dist/web` when running from source (tsx, tests).
 * `TERN_WEB_DIR`, when set, is the only place looked at.
 */
function webRootCandidates(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const fromEnv = process.env.TERN_WEB_DIR;
  if (fromEnv) return [path.resolve(fromEnv)];
  return [path.resolve(here, '../../web'), path.resolve(here, '../../../dist/web')];
}

/** Registers `GET /api/v1/whoami` and the static dashboard routes. */
export function registerWebRoutes(app: TernApp, _deps: ApiDeps): void {
  app.get(
    '/api/v1/whoami',
    {
      config: { access: 'read' },
      schema: {
        tags: ['meta'],
        summary: "The caller's token name, role and access levels (what the dashboard shows depends on them)",
        response: { 200: WhoAmI, ...ERROR_RESPONSES },
      },
    },
    (request) => {
      // access 'read' guarantees an authenticated principal here.
      const principal = request.principal!;
      return { name: principal.name, role: principal.role, access: [...ROLE_ACCESS[principal.role]] };
    },
  );

  const roots = webRootCandidates();
  let found: string | null = null;
  const webRoot = async (): Promise<string | null> => {
    if (found !== null) return found;
    for (const root of roots) {
      if (await isFile(path.join(root, 'index.html'))) return (found = root);
    }
    return null;
  };

  const schema = { tags: ['dashboard'], summary: 'The dashboard (static files; client routes answer index.html)' };
  app.get('/', { config: { access: 'public' }, schema }, async (request, reply) => serve(request, reply, await webRoot(), '/'));
  app.get('/*', { config: { access: 'public' }, schema }, async (request, reply) => {
    const urlPath = request.url.split('?')[0] ?? '/';
    // The API keeps its own JSON 404/405 answers; the SPA never shadows it.
    if (urlPath === '/api' || urlPath.startsWith('/api/')) return notFound(reply);
    return serve(request, reply, await webRoot(), urlPath);
  });
}

async function serve(request: FastifyRequest, reply: FastifyReply, root: string | null, urlPath: string): Promise<FastifyReply> {
  if (root === null) {
    return reply
      .code(404)
      .type('text/plain; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send('The Tern dashboard is not built: run `npm run build` (it writes dist/web). The API is at /api/v1.\n');
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return notFound(reply);
  }
  const file = decoded === '/' ? null : resolveInside(root, decoded);
  if (file !== null && (await isFile(file))) return sendFile(request, reply, file, decoded.startsWith('/assets/') ? IMMUTABLE : 'no-cache');
  // A client route (no extension) gets the app; a missing asset is a plain 404.
  if (decoded !== '/' && path.extname(decoded) !== '') return notFound(reply);
  return sendFile(request, reply, path.join(root, 'index.html'), 'no-cache');
}

/** Hands the request to the API's not-found handler (its JSON 404, or 405 for a known path). */
function notFound(reply: FastifyReply): FastifyReply {
  reply.callNotFound();
  return reply;
}

/** The file for a URL path, or null when it would leave the root (`..`, NUL, backslashes). */
function resolveInside(root: string, urlPath: string): string | null {
  if (urlPath.includes('\0') || urlPath.includes('\\')) return null;
  const segments = urlPath.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s === '.' || s.startsWith('.'))) return null;
  const file = path.resolve(root, ...segments);
  return file.startsWith(root + path.sep) ? file : null;
}

async function sendFile(request: FastifyRequest, reply: FastifyReply, file: string, cacheControl: string): Promise<FastifyReply> {
  const info = await stat(file);
  const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const ext = path.extname(file);
  void reply
    .header('cache-control', cacheControl)
    .header('etag', etag)
    .header('last-modified', info.mtime.toUTCString())
    .type(CONTENT_TYPES[ext] ?? 'application/octet-stream');
  if (ext === '.html') void reply.headers(HTML_HEADERS);
  else void reply.header('x-content-type-options', 'nosniff');
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.header('content-length', info.size).send(createReadStream(file));
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
