/**
 * `tern release logs ID`: the last lines each canary instance wrote, for releases whose
 * canary a deploy driver started (`GET /api/v1/releases/:id/logs`); static endpoints have none.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { withContext } from '../context.js';
import { printJson } from '../output.js';
import type { ReleaseLogsView } from '../views.js';

/** Registers `tern release logs` under `release`. */
export function registerLogsCommand(release: Command): void {
  release
    .command('logs')
    .description("show the last lines of each canary instance's output (releases whose canary a deploy driver started)")
    .argument('<id>', 'release id')
    .option('-n, --lines <n>', 'last lines per instance, 1 to 1000 (default 100)', parseLines)
    .action((id: string, opts: { lines?: number }, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const logs = await ctx.client.getReleaseLogs(id, opts.lines);
        if (ctx.output === 'json') return printJson(ctx.io, logs);
        if (logs.instances.length === 0) {
          return ctx.io.err(`Release ${logs.release} has no started instances (its canary runs on endpoints Tern did not start): no logs.`);
        }
        ctx.io.out(renderLogs(logs));
      }),
    );
}

/** Each instance under a heading: `== instance 0 (pid 4242, http://127.0.0.1:9101, ready) ==`. */
export function renderLogs(logs: ReleaseLogsView): string {
  return logs.instances
    .map((i) => {
      const head = `== instance ${i.index} (pid ${i.pid}, ${i.endpoint}, ${i.state}) ==`;
      return [head, ...(i.lines.length ? i.lines : ['(no output yet)'])].join('\n');
    })
    .join('\n\n');
}

/** 1..1000. @throws InvalidArgumentError */
function parseLines(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000)
    throw new InvalidArgumentError(`"${value}" is not a line count; expected a whole number from 1 to 1000.`);
  return n;
}
