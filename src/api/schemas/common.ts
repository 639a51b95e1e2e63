/**
 * Schemas shared by several routes: names, versions, endpoints, reasons, ids and the error
 * envelope. `description` doubles as the "what is accepted" part of validation messages.
 */
import { Type } from 'typebox';

export const SERVICE_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const VERSION_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$';
/** Release and token ids: generous, so ids minted by other tools still route. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';

export const ServiceName = Type.String({
  pattern: SERVICE_NAME_PATTERN,
  minLength: 1,
  maxLength: 63,
  description: 'a DNS label: 1-63 lowercase letters, digits or "-", starting and ending with a letter or digit',
});

export const VersionLabel = Type.String({
  pattern: VERSION_PATTERN,
  maxLength: 128,
  description: 'a version label: 1-128 letters, digits, ".", "_", "+" or "-", starting with a letter or digit (e.g. v1.4.2 or a git sha)',
});

export const Endpoint = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'an http(s) base URL without credentials, query or fragment, e.g. http://10.0.0.5:8080',
});

export const Endpoints = Type.Array(Endpoint, { minItems: 1, maxItems: 64, description: '1 to 64 endpoint base URLs' });

export const Duration = Type.Union([Type.String({ maxLength: 32 }), Type.Number({ minimum: 0 })], {
  description: 'a duration with a unit (250ms, 30s, 5m, 1h30m) or a number of seconds',
});

export const Reason = Type.String({ maxLength: 1024, description: 'why (kept in the audit log), at most 1024 characters' });

export const Id = Type.String({ pattern: ID_PATTERN, description: 'an id as returned by the API' });

export const NameParams = Type.Object({ name: ServiceName }, { additionalProperties: false });
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });

/** An ISO 8601 time, or epoch milliseconds. */
export const Since = Type.String({ maxLength: 40, description: 'an ISO 8601 time or epoch milliseconds' });

export const Limit = Type.Integer({ minimum: 1, maximum: 1000, description: 'at most this many items (1-1000)' });

export const IsoTime = Type.String({ description: 'ISO 8601 time' });

/** A release's sticky bucket hash (core/sticky.ts); set by the server, never by a request. */
export const BucketHashOut = Type.Union([Type.Literal('xxh32'), Type.Literal('murmur3')], {
  readOnly: true,
  description:
    "the sticky split's hash: bucket = xxh32(salt + userKey) mod 10000 ('xxh32', new releases) or murmur3(salt + NUL + userKey) mod 10000 ('murmur3', releases started before Tern switched to xxh32)",
});
export const NullableIsoTime = Type.Union([Type.String(), Type.Null()], { description: 'ISO 8601 time or null' });

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'stable machine-readable code, e.g. TERN_RELEASE_NOT_FOUND (docs/errors.md)' }),
      message: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { description: 'error envelope' },
);

/** Error answers every protected route may give, for the OpenAPI document. */
export const ERROR_RESPONSES = { '4xx': ErrorResponse, '5xx': ErrorResponse } as const;
