/**
 * `tern service rules list|add|remove`: the match rules that send chosen requests (a header or
 * cookie that equals a value or matches a regex) to the canary or the stable version. The
 * rules are read, changed and written back whole (`PATCH /api/v1/services/:name` with `rules`).
 */
import { Option, type Command } from 'commander';
import { withContext, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { printJson } from '../output.js';
import { parsePositiveInt } from '../parse.js';
import type { RuleSpec, ServiceView } from '../views.js';
import { renderRules, ruleText } from './service-view.js';

interface AddOptions {
  readonly header?: string;
  readonly cookie?: string;
  readonly equals?: string;
  readonly regex?: string;
  readonly target: 'canary' | 'stable';
}

/** Registers `tern service rules ...` under `service`. */
export function registerServiceRules(service: Command): void {
  const rules = service
    .command('rules')
    .description("list, add or remove a service's match rules (e.g. testers always on the canary); the first rule that matches wins");

  rules
    .command('list')
    .description("show a service's match rules, numbered in the order they are tried")
    .argument('<name>', 'service name')
    .action((name: string, _opts: unknown, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const s = await ctx.client.getService(name);
        if (ctx.output === 'json') return printJson(ctx.io, { service: s.name, rules: s.rules ?? [] });
        if (!s.rules?.length)
          return ctx.io.err(`${s.name} has no match rules. Add one with: tern service rules add ${s.name} --header H --equals V`);
        ctx.io.out(renderRules(s.rules));
      }),
    );

  rules
    .command('add')
    .description('add a rule at the end: requests whose header or cookie equals (or matches) a value go to the target version')
    .argument('<name>', 'service name')
    .option('--header <name>', 'look at this request header, e.g. x-tester')
    .option('--cookie <name>', 'look at this cookie')
    .option('--equals <value>', 'the value must be exactly this')
    .option('--regex <pattern>', 'the value must match this RE2 regular expression')
    .addOption(new Option('--target <version>', 'where matching requests go').choices(['canary', 'stable']).default('canary'))
    .action((name: string, opts: AddOptions, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const rule = ruleFrom(opts);
        const s = await ctx.client.getService(name);
        const updated = await ctx.client.updateService(name, { rules: [...(s.rules ?? []), rule] });
        report(ctx, updated, `Rule ${updated.rules?.length ?? '?'} added to ${updated.name}: ${ruleText(rule)}.`);
      }),
    );

  rules
    .command('remove')
    .description('remove one rule, by its number in `tern service rules list`')
    .argument('<name>', 'service name')
    .argument('<number>', "the rule's number (1 is the first)", parsePositiveInt)
    .action((name: string, n: number, _opts: unknown, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const s = await ctx.client.getService(name);
        const current = s.rules ?? [];
        const removed = current[n - 1];
        if (!removed) {
          throw new UsageError(
            current.length === 0
              ? `${s.name} has no match rules to remove`
              : `${s.name} has no rule ${n}; expected a number from 1 to ${current.length}`,
          );
        }
        const updated = await ctx.client.updateService(name, { rules: current.filter((_, i) => i !== n - 1) });
        report(ctx, updated, `Rule ${n} removed from ${updated.name}: ${ruleText(removed)}.`);
      }),
    );
}

function report(ctx: CommandContext, s: ServiceView, line: string): void {
  if (ctx.output === 'json') return printJson(ctx.io, s);
  ctx.io.out(line);
  if (s.rules?.length) ctx.io.out(renderRules(s.rules));
}

/**
 * The rule the flags describe.
 * @throws UsageError unless exactly one of --header/--cookie and one of --equals/--regex is given.
 */
export function ruleFrom(o: AddOptions): RuleSpec {
  if ((o.header === undefined) === (o.cookie === undefined)) throw new UsageError('give exactly one of --header NAME or --cookie NAME');
  if ((o.equals === undefined) === (o.regex === undefined)) throw new UsageError('give exactly one of --equals VALUE or --regex PATTERN');
  return {
    ...(o.header === undefined ? {} : { header: o.header.toLowerCase() }),
    ...(o.cookie === undefined ? {} : { cookie: o.cookie }),
    ...(o.equals === undefined ? {} : { equals: o.equals }),
    ...(o.regex === undefined ? {} : { regex: o.regex }),
    target: o.target,
  };
}
