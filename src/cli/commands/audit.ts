/**
 * `tern audit`: who did what, when, to what, why, and with what outcome (newest first).
 */
import type { Command } from 'commander';
import { withContext } from '../context.js';
import { formatTime, orDash, printJson, renderTable } from '../output.js';
import { parsePositiveInt, parseSince } from '../parse.js';
import type { AuditView } from '../views.js';

interface AuditOptions {
  readonly service?: string;
  readonly actor?: string;
  readonly action?: string;
  readonly since?: string;
  readonly limit?: number;
}

/** Registers `tern audit` on the program. */
export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('show the audit log, newest first')
    .option('--service <name>', 'only events about this service')
    .option('--actor <actor>', 'only events by this actor, e.g. token:ci-bot or system')
    .option('--action <action>', 'only this action, e.g. release.rollback')
    .option('--since <when>', 'only events after this time: ISO date/time, or a duration ago (30m, 2h, 1d)', (v: string) => parseSince(v))
    .option('--limit <n>', 'at most this many events (server default 100, max 1000)', parsePositiveInt)
    .action((opts: AuditOptions, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const answer = await ctx.client.listAudit(opts);
        if (ctx.output === 'json') return printJson(ctx.io, answer);
        const { events } = answer;
        if (events.length === 0) return ctx.io.err('No audit events match.');
        ctx.io.out(
          renderTable<AuditView>(
            [
              { header: 'time', value: (e) => formatTime(e.at) },
              { header: 'actor', value: (e) => e.actor },
              { header: 'action', value: (e) => e.action },
              { header: 'target', value: (e) => e.target },
              { header: 'outcome', value: (e) => e.outcome },
              { header: 'reason', value: (e) => orDash(e.reason) },
            ],
            events,
          ),
        );
      }),
    );
}
