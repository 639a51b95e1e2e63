/**
 * Tern's error hierarchy: one base class with a stable machine-readable `code`.
 * The API maps codes to HTTP status in one place (src/api/error-mapping.ts); every code
 * is listed in docs/errors.md (a unit test keeps the two in step).
 */

/** Every code Tern can emit, with the HTTP status the API answers it with. */
export const ERROR_CODES = {
  TERN_INVALID_REQUEST: 400,
  TERN_INVALID_DURATION: 400,
  TERN_INVALID_PLAN: 400,
  TERN_INVALID_WEIGHT: 400,
  TERN_INVALID_JSON: 400,
  TERN_UNAUTHENTICATED: 401,
  TERN_FORBIDDEN: 403,
  TERN_NOT_FOUND: 404,
  TERN_SERVICE_NOT_FOUND: 404,
  TERN_RELEASE_NOT_FOUND: 404,
  TERN_TOKEN_NOT_FOUND: 404,
  TERN_METHOD_NOT_ALLOWED: 405,
  TERN_SERVICE_EXISTS: 409,
  TERN_RELEASE_ACTIVE: 409,
  TERN_ILLEGAL_TRANSITION: 409,
  TERN_VERSION_IS_STABLE: 409,
  TERN_TOKEN_EXISTS: 409,
  TERN_LAST_ADMIN_TOKEN: 409,
  TERN_BODY_TOO_LARGE: 413,
  TERN_UNSUPPORTED_MEDIA_TYPE: 415,
  TERN_EVIDENCE_REJECTED: 422,
  TERN_DATAPLANE_UNSUPPORTED: 422,
  TERN_RATE_LIMITED: 429,
  TERN_INTERNAL: 500,
  TERN_STORE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface TernErrorOptions {
  readonly cause?: unknown;
  /** Structured detail for clients, e.g. the offending field. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Base of every error Tern raises on purpose. */
export class TernError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: TernErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }

  /** The HTTP status this error is answered with. */
  get status(): number {
    return ERROR_CODES[this.code];
  }
}

/** Input that does not match what is accepted; `field` names where, as a JSON path. */
export class ValidationError extends TernError {
  constructor(
    readonly field: string,
    message: string,
    code: ErrorCode = 'TERN_INVALID_REQUEST',
    options: TernErrorOptions = {},
  ) {
    super(code, field ? `${field}: ${message}` : message, {
      ...options,
      details: { field, ...options.details },
    });
  }
}

export class NotFoundError extends TernError {
  constructor(
    code: 'TERN_SERVICE_NOT_FOUND' | 'TERN_RELEASE_NOT_FOUND' | 'TERN_TOKEN_NOT_FOUND' | 'TERN_NOT_FOUND',
    message: string,
    options: TernErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

export class ConflictError extends TernError {
  constructor(
    code:
      | 'TERN_SERVICE_EXISTS'
      | 'TERN_RELEASE_ACTIVE'
      | 'TERN_ILLEGAL_TRANSITION'
      | 'TERN_VERSION_IS_STABLE'
      | 'TERN_LAST_ADMIN_TOKEN'
      | 'TERN_TOKEN_EXISTS',
    message: string,
    options: TernErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

export class AuthError extends TernError {
  constructor(code: 'TERN_UNAUTHENTICATED' | 'TERN_FORBIDDEN' | 'TERN_RATE_LIMITED', message: string, options: TernErrorOptions = {}) {
    super(code, message, options);
  }
}

export class StoreError extends TernError {
  constructor(message: string, options: TernErrorOptions = {}) {
    super('TERN_STORE_UNAVAILABLE', message, options);
  }
}

/** A data plane cannot execute what a route or service needs (a feature it lacks, e.g. regex rules on NGINX). */
export class DataPlaneUnsupportedError extends TernError {
  constructor(message: string, options: TernErrorOptions = {}) {
    super('TERN_DATAPLANE_UNSUPPORTED', message, options);
  }
}

export function isTernError(err: unknown): err is TernError {
  return err instanceof TernError;
}
