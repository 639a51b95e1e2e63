/**
 * Contract: API tokens — created with an audit event, found by secret hash only while not
 * revoked, listed with their state, and touched at most once a minute.
 */
import assert from 'node:assert/strict';
import type { Role } from '../../core/types.js';
import { auditCount, auditOf } from './fixtures.js';
import { rejectsWithCode, suite, test } from './harness.js';
import type { StoreContext } from './harness.js';

const tokenInput = (id: string, role: Role = 'deployer') => ({ id, name: `ci-${id}`, role, secretHash: `hash-${id}` });

export function tokensContract(ctx: StoreContext): void {
  suite('tokens', () => {
    test('createToken stores the token with its audit event; findTokenByHash finds it', async () => {
      const before = Date.now();
      const info = await ctx.store.createToken(tokenInput('t1'), auditOf('token.create', 'token/t1'));
      assert.deepEqual(
        { ...info, createdAt: 0 },
        { id: 't1', name: 'ci-t1', role: 'deployer', createdAt: 0, lastUsedAt: null, revokedAt: null },
      );
      assert.ok(info.createdAt >= before);
      assert.deepEqual(await ctx.store.findTokenByHash('hash-t1'), { ...info, secretHash: 'hash-t1' });
      assert.equal(await ctx.store.findTokenByHash('hash-nope'), undefined);
      await ctx.store.createToken(tokenInput('t2', 'admin'), auditOf('token.create', 'token/t2'));
      assert.deepEqual(
        (await ctx.store.listTokens()).map((t) => [t.id, t.role]),
        [
          ['t1', 'deployer'],
          ['t2', 'admin'],
        ],
      );
      assert.equal(await ctx.store.countTokens(), 2);
      assert.equal(await auditCount(ctx.store, { action: 'token.create' }), 2);
    });

    test('a revoked token is no longer found by hash but stays listed, and revocation is audited', async () => {
      await ctx.store.createToken(tokenInput('t1'), auditOf('token.create', 'token/t1'));
      const revoked = await ctx.store.revokeToken('t1', auditOf('token.revoke', 'token/t1'));
      assert.ok(revoked.revokedAt !== null);
      assert.equal(await ctx.store.findTokenByHash('hash-t1'), undefined);
      assert.deepEqual(await ctx.store.listTokens(), [revoked]);
      assert.equal(await ctx.store.countTokens(), 0, 'countTokens counts tokens that still authenticate');
      const again = await ctx.store.revokeToken('t1', auditOf('token.revoke', 'token/t1'));
      assert.equal(again.revokedAt, revoked.revokedAt, 'revoking twice keeps the first time');
      assert.equal(await auditCount(ctx.store, { action: 'token.revoke' }), 2);
      await rejectsWithCode(ctx.store.revokeToken('nope', auditOf('token.revoke', 'token/nope')), 'TERN_TOKEN_NOT_FOUND');
      assert.equal(await auditCount(ctx.store, { action: 'token.revoke' }), 2);
    });

    test('touchToken records use at most once a minute', async () => {
      await ctx.store.createToken(tokenInput('t1'), auditOf('token.create', 'token/t1'));
      const t = Date.now();
      const lastUsed = async (): Promise<number | null | undefined> => (await ctx.store.findTokenByHash('hash-t1'))?.lastUsedAt;
      await ctx.store.touchToken('t1', t);
      assert.equal(await lastUsed(), t);
      await ctx.store.touchToken('t1', t + 30_000);
      assert.equal(await lastUsed(), t, 'a touch within a minute is not written');
      await ctx.store.touchToken('t1', t + 61_000);
      assert.equal(await lastUsed(), t + 61_000);
      await ctx.store.touchToken('nope', t);
      assert.equal(await auditCount(ctx.store), 1, 'touches are not audited');
    });
  });
}
