/** Schemas of the token routes. */
import { Type } from 'typebox';
import { ROLES } from '../../core/types.js';
import { IsoTime, NullableIsoTime } from './common.js';

export const TokenName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$',
  description:
    'a token name: 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit (shown in the audit log as token:<name>)',
});

export const TokenCreate = Type.Object(
  { name: TokenName, role: Type.Enum([...ROLES], { description: `one of ${ROLES.join(', ')}` }) },
  { additionalProperties: false },
);

export const TokenResponse = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.Enum([...ROLES]),
  createdAt: IsoTime,
  lastUsedAt: NullableIsoTime,
  revokedAt: NullableIsoTime,
});

export const TokenCreated = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.Enum([...ROLES]),
  createdAt: IsoTime,
  lastUsedAt: NullableIsoTime,
  revokedAt: NullableIsoTime,
  secret: Type.String({ description: 'the bearer secret; shown only in this answer, store it now' }),
});

export const TokenList = Type.Object({ tokens: Type.Array(TokenResponse) });

/** `GET /api/v1/whoami`: the caller's token. */
export const WhoAmI = Type.Object({
  name: Type.String({ description: 'the token name' }),
  role: Type.Enum([...ROLES], { description: 'viewer, deployer or admin (gateway and feedback tokens cannot read)' }),
  access: Type.Array(Type.String(), { description: 'the access levels this role has: read, release, admin, dataplane, feedback' }),
});
