/**
 * Request-target normalisation, applied before a request is matched to a route and before its
 * path is forwarded.
 *
 * Without it `/tenant/../../tenant2/secret` matched the `/tenant` route and reached a backend
 * as `/tenant1/tenant/../../tenant2/secret`, which a normalising backend resolves outside the
 * endpoint's base path. So:
 * - literal dot segments are removed as RFC 3986 §5.2.4 specifies (`/a/b/../c` → `/a/c`,
 *   `/../x` → `/x`): the gateway matches and forwards the path the backend will resolve;
 * - a path that smuggles a dot segment past that step is refused: `%2e`/`%2E` spelling a `.` or
 *   `..` segment, a `.`/`..` separated by an encoded slash or a backslash (`..%2f`, `..\`),
 *   which a decoding backend (or a Windows one) turns into traversal, or followed by a `;`
 *   path parameter (`..;/`, which Java servlet containers resolve as `..`). An encoded slash on its
 *   own (`a%2Fb`, a GitLab-style id) is legitimate and kept as it is;
 * - `%00` (NUL) is refused anywhere in the path: it truncates paths in C-based backends.
 *
 * Nothing else is decoded or re-encoded: the bytes that reach the backend are the client's,
 * minus removed dot segments. The query is left untouched.
 */

export type PathVerdict = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

/** RFC 3986 §5.2.4 remove_dot_segments on an absolute path (starts with `/`). */
export function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const out: string[] = [];
  // segments[0] is the empty string before the leading slash.
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..' && out.length > 0) out.pop();
      // A trailing dot segment leaves a trailing slash: `/a/b/..` → `/a/`.
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  return `/${out.join('/')}`;
}

/**
 * True when a segment, once `%2e`, `%2f`, `%5c` and `%3b` are decoded, holds a `.` or `..`
 * part, also before a `;` path parameter (`..;x`, which Tomcat and Jetty resolve as `..`).
 */
function hidesDotSegment(segment: string): boolean {
  if (!segment.includes('%') && !segment.includes('\\') && !segment.includes(';')) return false;
  const decoded = segment
    .replace(/%2e/gi, '.')
    .replace(/%3b/gi, ';')
    .replace(/%2f|%5c/gi, '/')
    .replace(/\\/g, '/');
  return decoded.split('/').some((part) => {
    const name = part.split(';')[0];
    return name === '.' || name === '..';
  });
}

/**
 * Normalises an origin-form path with its query (`/a/../b?x=1` → `/b?x=1`).
 * Returns `{ ok: false, reason }` for a target the gateway refuses (answer 400).
 */
export function normalisePath(target: string): PathVerdict {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q);
  if (!path.startsWith('/')) return { ok: false, reason: 'the request target must be an absolute path, e.g. /orders/42' };
  if (/%00/.test(path)) return { ok: false, reason: 'the path holds an encoded NUL (%00)' };
  if (path.includes('#')) return { ok: false, reason: 'a request target cannot carry a fragment (#)' };
  for (const segment of path.split('/')) {
    if (hidesDotSegment(segment)) {
      return { ok: false, reason: 'the path holds an encoded dot segment or an encoded separator around dots (path traversal)' };
    }
  }
  return { ok: true, path: removeDotSegments(path) + query };
}
