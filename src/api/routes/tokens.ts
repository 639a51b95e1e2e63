/**
 * Token routes (admin only): create (the secret is in that answer and nowhere else), list,
 * revoke. The last active admin token cannot be revoked, so nobody locks themselves out.
 */
import { Type } from 'typebox';
import { ConflictError, NotFoundError } from '../../core/errors.js';
import type { TokenInfo } from '../../core/types.js';
import type { Store } from '../../store/store.js';
import { auditInput } from '../audit/audit-context.js';
import { activeTokenNamed, generateSecret, hashSecret, newTokenId } from '../auth/tokens.js';
import { tokenJson } from '../present.js';
import type { ApiDeps, TernApp } from '../route-config.js';
import { ERROR_RESPONSES, IdParams } from '../schemas/common.js';
import { TokenCreate, TokenCreated, TokenList } from '../schemas/tokens.js';

const TAGS = ['tokens'];

/** Registers the token routes. */
export function registerTokenRoutes(app: TernApp, { store }: ApiDeps): void {
  // Revocations run one at a time so two concurrent ones cannot each see "another admin remains".
  let revoking: Promise<unknown> = Promise.resolve();

  app.post(
    '/api/v1/tokens',
    {
      config: { access: 'admin', audit: { action: 'token.create', target: 'token/*' } },
      schema: {
        tags: TAGS,
        summary: 'Create a token; the answer holds its secret, shown only this once',
        body: TokenCreate,
        response: { 201: TokenCreated, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const id = newTokenId();
      const secret = generateSecret();
      const { name, role } = request.body;
      if (await activeTokenNamed(store, name)) {
        throw new ConflictError(
          'TERN_TOKEN_EXISTS',
          `an active token is already named "${name}"; pick another name or revoke that token first`,
          {
            details: { field: 'body.name' },
          },
        );
      }
      const info = await store.createToken(
        { id, name, role, secretHash: hashSecret(secret) },
        auditInput(request, { target: `token/${id}`, detail: { name, role } }),
      );
      return reply.code(201).send({ ...tokenJson(info), secret });
    },
  );

  app.get(
    '/api/v1/tokens',
    {
      config: { access: 'admin' },
      schema: { tags: TAGS, summary: 'List tokens (never their secrets)', response: { 200: TokenList, ...ERROR_RESPONSES } },
    },
    async () => ({ tokens: (await store.listTokens()).map(tokenJson) }),
  );

  app.delete(
    '/api/v1/tokens/:id',
    {
      config: { access: 'admin', audit: { action: 'token.revoke', target: 'token/:id' } },
      schema: { tags: TAGS, summary: 'Revoke a token', params: IdParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } },
    },
    async (request, reply) => {
      const run = revoking.then(() => revoke(store, request.params.id, () => auditInput(request)));
      revoking = run.catch(() => undefined);
      await run;
      return reply.code(204).send(null);
    },
  );
}

/** @throws NotFoundError for an unknown or already revoked token; ConflictError TERN_LAST_ADMIN_TOKEN. */
async function revoke(store: Store, id: string, audit: () => ReturnType<typeof auditInput>): Promise<TokenInfo> {
  const tokens = await store.listTokens();
  const token = tokens.find((t) => t.id === id && t.revokedAt === null);
  if (!token) throw new NotFoundError('TERN_TOKEN_NOT_FOUND', `no active token with id "${id}"`, { details: { token: id } });
  const admins = tokens.filter((t) => t.role === 'admin' && t.revokedAt === null);
  if (token.role === 'admin' && admins.length === 1) {
    throw new ConflictError(
      'TERN_LAST_ADMIN_TOKEN',
      `token "${token.name}" is the last active admin token; create another admin token before revoking it`,
      {
        details: { token: id },
      },
    );
  }
  return store.revokeToken(id, { ...audit(), detail: { name: token.name, role: token.role } });
}
