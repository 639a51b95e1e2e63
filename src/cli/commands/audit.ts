/**
 * `tern audit`: who did what, when, to what, why, and with what outcome (newest first);
 * `tern audit export` writes the verifiable JSON-lines export, `tern audit verify` checks one
 * (format: src/core/audit-chain.ts).
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import { verifyExportLines } from '../../core/audit-chain.js';
import { CliError } from '../errors.js';
import { withContext } from '../context.js';
import { formatTime, orDash, printJson, processIo, renderTable, type OutputFormat } from '../output.js';
import { parsePositiveInt, parseSince } from '../parse.js';
import type { AuditView } from '../views.js';

interface AuditOptions {
  readonly service?: string;
  readonly actor?: string;
  readonly action?: string;
  readonly since?: string;
  readonly limit?: number;
}

/** Registers `tern audit` (and `audit export`, `audit verify`) on the program. */
export function registerAuditCommand(program: Command): void {
  const audit = program
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
  registerExport(audit);
  registerVerify(audit);
}

interface ExportOptions {
  readonly since?: string;
  readonly until?: string;
  readonly file?: string;
}

function registerExport(audit: Command): void {
  audit
    .command('export')
    .description(
      'write the audit log as verifiable JSON lines, oldest first (needs role admin); a full export lets --audit-retention prune what it covered',
    )
    .option(
      '--since <when>',
      'only events from this time: ISO date/time, or a duration ago (30m, 2h, 1d); such a partial export does not count for retention',
      (v: string) => parseSince(v),
    )
    .option('--until <when>', 'only events before this time (default: now)', (v: string) => parseSince(v))
    .option('--file <path>', 'write to this file (created, never overwritten) instead of stdout')
    .action((own: ExportOptions, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        // `tern audit` has a --since of its own, and commander gives a parent's option to the parent
        // wherever it appears on the line: read it from there too, or `export --since` would be dropped.
        const since = own.since ?? cmd.parent?.opts<AuditOptions>().since;
        const opts: ExportOptions = { ...own, ...(since === undefined ? {} : { since }) };
        const body = await ctx.client.openAuditExport({
          ...(opts.since === undefined ? {} : { since: opts.since }),
          ...(opts.until === undefined ? {} : { until: opts.until }),
        });
        const sink = opts.file === undefined ? process.stdout : createWriteStream(opts.file, { flags: 'wx', mode: 0o600 });
        if (opts.file !== undefined) await once(sink, 'open');
        let tail = '';
        for await (const chunk of body) {
          const text = chunk.toString('utf8');
          tail = (tail + text).slice(-4096);
          if (!sink.write(text)) await once(sink, 'drain');
        }
        if (sink !== process.stdout)
          await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
        const end = JSON.parse(tail.trimEnd().split('\n').at(-1) ?? '{}') as { end?: boolean; count?: number; head?: string };
        if (end.end !== true) throw new CliError('the export ended early (no end line); the file is incomplete, run the export again');
        ctx.io.err(`Exported ${end.count ?? 0} audit events${opts.file ? ` to ${opts.file}` : ''}.`);
        ctx.io.err(
          `Chain head: ${end.head ?? '?'}  (keep it apart from the file; \`tern audit verify FILE --head HEAD\` proves the file unchanged)`,
        );
      }),
    );
}

function registerVerify(audit: Command): void {
  audit
    .command('verify')
    .description('check an audit export: every chain hash, the event count and the head (exit 1 naming the first bad line)')
    .argument('<file>', 'a file written by tern audit export')
    .option('--head <hash>', 'also require this chain head (the one printed at export time)')
    .action((file: string, opts: { readonly head?: string }, cmd: Command) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
      }
      let result;
      try {
        result = verifyExportLines(text.split('\n'));
      } catch (err) {
        throw new CliError(`${file} does not verify: ${(err as Error).message}`);
      }
      if (opts.head !== undefined && opts.head !== result.head) {
        throw new CliError(
          `${file} verifies on its own, but its head ${result.head} is not the expected ${opts.head}: it was rewritten or is another export`,
        );
      }
      if (cmd.optsWithGlobals<{ output: OutputFormat }>().output === 'json')
        return printJson(processIo, { ok: true, file, count: result.count, head: result.head });
      processIo.out(`OK: ${result.count} events, chain head ${result.head}`);
    });
}
