/**
 * `tern service create|list|get|update|delete` and `tern service rules ...`: the services Tern fronts.
 */
import type { Command } from 'commander';
import { withContext } from '../context.js';
import { UsageError } from '../errors.js';
import { formatAge, formatPercent, orDash, printJson, renderTable } from '../output.js';
import { addMetricsFlags, metricsFromFlags, touchesMetrics, type MetricsFlags } from '../metrics-flags.js';
import { collect } from '../parse.js';
import type { ServiceSpec, ServiceView } from '../views.js';
import { registerServiceRules } from './service-rules.js';
import { showService, stickiness } from './service-view.js';
import { readJsonObject } from '../json-file.js';
import { registerServiceUpdate } from './service-update.js';

interface CreateOptions extends MetricsFlags {
  readonly file?: string;
  readonly host?: string;
  readonly pathPrefix?: string;
  readonly stickyHeader?: string;
  readonly stableVersion?: string;
  readonly endpoint?: string[];
}

/** Registers `tern service ...` on the program. */
export function registerServiceCommands(program: Command): void {
  const service = program.command('service').description('manage the services Tern fronts');

  const create = service
    .command('create')
    .description('register a service: how requests reach it, how users are identified, its stable version')
    .argument('[name]', 'service name (a DNS label); optional when --file names it')
    .option('-f, --file <spec.json>', 'read the service spec (POST /api/v1/services body) from a JSON file, - for stdin; flags override it')
    .option('--host <host>', 'match requests for this Host')
    .option('--path-prefix <prefix>', 'match requests whose path starts with this prefix, e.g. /checkout')
    .option('--sticky-header <header>', 'identify users by this request header (else a cookie, else client IP)')
    .option('--stable-version <version>', 'label of the version serving today, e.g. v1')
    .option('--endpoint <url>', 'a stable endpoint base URL (repeatable)', collect);
  addMetricsFlags(create).action((name: string | undefined, opts: CreateOptions, cmd: Command) =>
    withContext(cmd, async (ctx) => {
      const created = await ctx.client.createService(buildSpec(name, opts));
      if (ctx.output === 'json') return printJson(ctx.io, created);
      ctx.io.out(
        `Service ${created.name} created (stable ${created.stable.version}, ${plural(created.stable.endpoints.length, 'endpoint')}).`,
      );
    }),
  );

  service
    .command('list')
    .description('list services')
    .action((_opts: unknown, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const answer = await ctx.client.listServices();
        if (ctx.output === 'json') return printJson(ctx.io, answer);
        const { services } = answer;
        if (services.length === 0) return ctx.io.err('No services yet. Create one with: tern service create NAME ...');
        ctx.io.out(
          renderTable<ServiceView>(
            [
              { header: 'name', value: (s) => s.name },
              { header: 'host', value: (s) => orDash(s.match.host) },
              { header: 'path prefix', value: (s) => orDash(s.match.pathPrefix) },
              { header: 'sticky', value: stickiness },
              { header: 'stable', value: (s) => s.stable.version },
              { header: 'endpoints', value: (s) => String(s.stable.endpoints.length) },
              {
                header: 'release',
                value: (s) => (s.activeRelease ? `${s.activeRelease.status} ${formatPercent(s.activeRelease.weight)}` : '-'),
              },
              { header: 'age', value: (s) => formatAge(s.createdAt).replace(/ ago$/, '') },
            ],
            services,
          ),
        );
      }),
    );

  service
    .command('get')
    .description('show one service')
    .argument('<name>', 'service name')
    .action((name: string, _opts: unknown, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        const s = await ctx.client.getService(name);
        if (ctx.output === 'json') return printJson(ctx.io, s);
        showService(ctx, s);
      }),
    );

  registerServiceUpdate(service);
  registerServiceRules(service);

  service
    .command('delete')
    .description('delete a service and its release history (refused while a release is active)')
    .argument('<name>', 'service name')
    .action((name: string, _opts: unknown, cmd: Command) =>
      withContext(cmd, async (ctx) => {
        await ctx.client.deleteService(name);
        if (ctx.output === 'json') return printJson(ctx.io, { name, deleted: true });
        ctx.io.out(`Service ${name} deleted.`);
      }),
    );
}

/**
 * Merges --file and flags into the request body.
 * @throws UsageError when the name or the stable version is missing or the file names another service;
 * CliError when the file cannot be read or is not JSON.
 */
function buildSpec(name: string | undefined, opts: CreateOptions): ServiceSpec {
  const base = opts.file === undefined ? {} : readJsonObject(opts.file, 'the service spec');
  if (name !== undefined && typeof base.name === 'string' && base.name !== name) {
    throw new UsageError(`the argument names service "${name}" but ${opts.file} names "${base.name}"`);
  }
  const finalName = name ?? (typeof base.name === 'string' ? base.name : undefined);
  if (!finalName) throw new UsageError('missing service name: give it as the first argument or as "name" in --file');
  const match = { ...(base.match as object | undefined), ...defined({ host: opts.host, pathPrefix: opts.pathPrefix }) };
  const stickinessSpec = { ...(base.stickiness as object | undefined), ...defined({ header: opts.stickyHeader }) };
  const baseStable = (base.stable ?? {}) as { version?: string; endpoints?: string[] };
  const stable = {
    ...baseStable,
    ...defined({ version: opts.stableVersion, endpoints: opts.endpoint }),
  };
  if (opts.file === undefined && (stable.version === undefined || stable.endpoints === undefined)) {
    throw new UsageError(
      'a service needs its stable version and endpoints: --stable-version V --endpoint URL [--endpoint URL ...] (or --file spec.json)',
    );
  }
  const metrics = touchesMetrics(opts) ? { metrics: metricsFromFlags(opts, base.metrics as ServiceView['metrics']) } : {};
  return { ...base, name: finalName, match, stickiness: stickinessSpec, stable, ...metrics } as ServiceSpec;
}

function defined<T extends Record<string, unknown>>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
