/**
 * `tern token create|list|revoke`: API tokens and their roles. A secret is shown exactly once.
 */
import { Option, type Command } from 'commander';
import { ROLES } from '../../core/types.js';
import { withContext } from '../context.js';
import { formatAge, formatTime, printJson, renderDetails, renderTable } from '../output.js';
import type { TokenView } from '../views.js';

/** Registers `tern token ...` on the program. */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage API tokens (admin only)');

  token
    .command('create')
    .description('create a token; its secret is printed once and cannot be shown again')
    .argument('<name>', 'a name people will recognise in the audit log, e.g. ci-bot')
    .addOption(new Option('--role <role>', 'what the token may do').choices(ROLES).makeOptionMandatory())
    .action((name: string, opts: { role: string }, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const created = await ctx.client.createToken(name, opts.role);
        if (ctx.output === 'json') printJson(ctx.io, created);
        else
          ctx.io.out(
            renderDetails([
              ['Token', created.name],
              ['Id', created.id],
              ['Role', created.role],
              ['Secret', created.secret],
            ]),
          );
        ctx.io.err(
          'Warning: the secret is shown only this once and will not be shown again; store it now (e.g. as TERN_TOKEN in your CI).',
        );
      }),
    );

  token
    .command('list')
    .description('list tokens (secrets are never shown)')
    .action((_opts: unknown, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const answer = await ctx.client.listTokens();
        if (ctx.output === 'json') return printJson(ctx.io, answer);
        const { tokens } = answer;
        ctx.io.out(
          renderTable<TokenView>(
            [
              { header: 'id', value: (t) => t.id },
              { header: 'name', value: (t) => t.name },
              { header: 'role', value: (t) => t.role },
              { header: 'created', value: (t) => formatTime(t.createdAt) },
              { header: 'last used', value: (t) => formatAge(t.lastUsedAt) },
              { header: 'revoked', value: (t) => (t.revokedAt ? formatTime(t.revokedAt) : '-') },
            ],
            tokens,
          ),
        );
      }),
    );

  token
    .command('revoke')
    .description('revoke a token; requests with it are refused from now on')
    .argument('<id>', 'token id (see tern token list)')
    .action((id: string, _opts: unknown, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const revoked = await ctx.client.revokeToken(id);
        if (ctx.output === 'json') return printJson(ctx.io, revoked ?? { id, revoked: true });
        ctx.io.out(`Token ${revoked?.name ? `${revoked.name} (${id})` : id} revoked.`);
      }),
    );
}
