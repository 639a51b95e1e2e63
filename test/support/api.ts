/**
 * A JSON caller for end-to-end tests against a real `tern server`: bearer token, JSON body,
 * the answer's status and parsed JSON (null for an empty body).
 */
export type ApiCall = <T>(method: string, url: string, body?: unknown) => Promise<{ status: number; json: T }>;

/** Calls `${baseUrl()}${url}` with `token()`; both are read at call time (tests set them in `before`). */
export function apiCaller(baseUrl: () => string, token: () => string): ApiCall {
  return async <T>(method: string, url: string, body?: unknown) => {
    const res = await fetch(`${baseUrl()}${url}`, {
      method,
      headers: { authorization: `Bearer ${token()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
  };
}
