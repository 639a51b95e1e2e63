/**
 * `tern service update NAME`: changes how a service is reached (host, path prefix), how its
 * users are identified (sticky header or cookie), or its stable version and endpoints, through
 * `PATCH /api/v1/services/:name`. Flags change one field and keep the rest of its group (the
 * current service is read first); `--file` sends any PATCH body (webhooks, deploy, rules) as is.
 */
import type { Command } from 'commander';
import { withContext } from '../context.js';
import { UsageError } from '../errors.js';
import { printJson } from '../output.js';
import { addMetricsFlags, metricsFromFlags, touchesMetrics, type MetricsFlags } from '../metrics-flags.js';
import { collect } from '../parse.js';
import type { ServicePatchBody, ServiceView } from '../views.js';
import { readJsonObject } from '../json-file.js';
import { showService } from './service-view.js';

interface UpdateOptions extends MetricsFlags {
  readonly file?: string;
  readonly host?: string;
  readonly pathPrefix?: string;
  readonly stickyHeader?: string;
  readonly stickyCookie?: string;
  readonly stableVersion?: string;
  readonly endpoint?: string[];
}

type MutablePatch = { -readonly [K in keyof ServicePatchBody]: ServicePatchBody[K] };

/** Registers `tern service update` under `service`. */
export function registerServiceUpdate(service: Command): void {
  const update = service
    .command('update')
    .description('change a service: its match, stickiness, stable version or endpoints (flags keep the fields they do not name)')
    .argument('<name>', 'service name')
    .option(
      '-f, --file <patch.json>',
      'read a PATCH /api/v1/services/NAME body (any field: rules, webhooks, deploy) from JSON, - for stdin; flags override it',
    )
    .option('--host <host>', 'match requests for this Host ("" to stop matching on the host)')
    .option('--path-prefix <prefix>', 'match requests whose path starts with this prefix ("" to stop matching on the path)')
    .option('--sticky-header <header>', 'identify users by this request header ("" to stop; then the cookie, else client IP)')
    .option('--sticky-cookie <name>', 'identify users by this cookie when the header is absent (default tern_uid)')
    .option('--stable-version <version>', 'label of the version serving today')
    .option('--endpoint <url>', 'a stable endpoint base URL (repeatable; the list replaces the old one)', collect);
  addMetricsFlags(update).action((name: string, opts: UpdateOptions, cmd: Command) =>
    withContext(cmd, async (ctx) => {
      const base = opts.file === undefined ? {} : (readJsonObject(opts.file, 'the service patch') as MutablePatch);
      if (!touchesGroups(opts) && Object.keys(base).length === 0) {
        throw new UsageError(
          'nothing to change: give --host, --path-prefix, --sticky-header, --sticky-cookie, --stable-version, --endpoint or --file patch.json',
        );
      }
      const current = touchesGroups(opts) ? await ctx.client.getService(name) : null;
      const patch = current ? { ...base, ...patchFromFlags(current, opts) } : base;
      const updated = await ctx.client.updateService(name, patch);
      if (ctx.output === 'json') return printJson(ctx.io, updated);
      ctx.io.out(`Service ${updated.name} updated (${Object.keys(patch).join(', ')}).`);
      showService(ctx, updated);
    }),
  );
}

function touchesGroups(o: UpdateOptions): boolean {
  return (
    [o.host, o.pathPrefix, o.stickyHeader, o.stickyCookie, o.stableVersion, o.endpoint].some((v) => v !== undefined) || touchesMetrics(o)
  );
}

/**
 * The groups the flags touch, each merged over the service's current value ("" removes a field).
 * @throws UsageError when the match would be left empty.
 */
export function patchFromFlags(current: ServiceView, o: UpdateOptions): MutablePatch {
  const patch: MutablePatch = {};
  if (o.host !== undefined || o.pathPrefix !== undefined) {
    const match = withoutEmpty({ ...current.match, ...defined({ host: o.host, pathPrefix: o.pathPrefix }) });
    if (Object.keys(match).length === 0)
      throw new UsageError('a service must match on a host, a path prefix or both: keep one of --host or --path-prefix');
    patch.match = match;
  }
  if (o.stickyHeader !== undefined || o.stickyCookie !== undefined) {
    patch.stickiness = withoutEmpty({ ...current.stickiness, ...defined({ header: o.stickyHeader, cookie: o.stickyCookie }) });
  }
  if (o.stableVersion !== undefined || o.endpoint !== undefined) {
    patch.stable = { version: o.stableVersion ?? current.stable.version, endpoints: o.endpoint ?? [...current.stable.endpoints] };
  }
  if (touchesMetrics(o)) patch.metrics = metricsFromFlags(o, current.metrics) as NonNullable<MutablePatch['metrics']>;
  return patch;
}

function defined<T extends Record<string, string | undefined>>(record: T): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => e[1] !== undefined));
}

function withoutEmpty(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
}
