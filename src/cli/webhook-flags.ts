/**
 * `release start`'s webhooks: `--webhook TYPE=URL` (repeatable, e.g.
 * `--webhook confirm-step=https://ci.example/gate`) and `--webhooks-file FILE`, a JSON or YAML
 * list of the API's webhook objects (`{"type", "url", "timeout"?, "retries"?, "maxFailures"?,
 * "format"?, "events"?}`, docs/api.md#webhooks), checked with the API's own schema so a mistake
 * exits 2 naming the field. The file's hooks come first, then the flags'.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { WEBHOOK_TYPES, type WebhookType } from '../core/types.js';
import { CliError, UsageError } from './errors.js';

/** A webhook as the API takes it. */
export interface WebhookBody {
  readonly type: WebhookType;
  readonly url: string;
  readonly [field: string]: unknown;
}

export interface WebhookFlags {
  readonly webhook?: WebhookBody[];
  /** The `--webhooks-file` contents, checked (the file name until the preAction hook reads it). */
  readonly webhooksFile?: WebhookBody[];
}

/** `confirm-step=https://ci.example/gate` → `{type, url}`. @throws InvalidArgumentError */
export function parseWebhookFlag(value: string, previous: WebhookBody[] = []): WebhookBody[] {
  const at = value.indexOf('=');
  const type = value.slice(0, Math.max(0, at)).trim();
  const url = value.slice(at + 1).trim();
  if (at <= 0 || url === '' || !(WEBHOOK_TYPES as readonly string[]).includes(type)) {
    throw new InvalidArgumentError(
      `"${value}" is not TYPE=URL with TYPE one of ${WEBHOOK_TYPES.join(', ')}, e.g. confirm-step=https://ci.example/gate (--webhooks-file sets timeout, maxFailures, format, events)`,
    );
  }
  return [...previous, { type: type as WebhookType, url }];
}

/** Registers the webhook flags on a command. */
export function addWebhookOptions(cmd: Command): Command {
  return cmd
    .option(
      '--webhook <type=url>',
      `a gate or notification for this release: ${WEBHOOK_TYPES.join(', ')}, e.g. confirm-step=https://ci.example/gate (repeatable)`,
      parseWebhookFlag,
    )
    .option(
      '--webhooks-file <file>',
      'the API\'s "webhooks" list from a JSON or YAML file (- for stdin), with every field; --webhook adds to it',
    )
    .hook('preAction', async (_cmd, action) => {
      const file: unknown = action.getOptionValue('webhooksFile');
      if (typeof file !== 'string') return;
      action.setOptionValue('webhooksFile', await readWebhooksFile(file));
    });
}

/** The API's `webhooks`: the file's, then the flags' (undefined when neither). */
export function webhooksFromFlags(flags: WebhookFlags): WebhookBody[] | undefined {
  const all = [...(flags.webhooksFile ?? []), ...(flags.webhook ?? [])];
  return all.length > 0 ? all : undefined;
}

/**
 * Reads and checks a webhooks file: a list, or an object with a `webhooks` list.
 * @throws CliError (exit 1) when it cannot be read; UsageError (exit 2) when it is not YAML/JSON or a field is wrong.
 */
export async function readWebhooksFile(file: string, read: (f: string) => string = readText): Promise<WebhookBody[]> {
  // Loaded only when the flag is given: the schemas and the YAML parser would slow every other command's start.
  const [{ parse: parseYaml }, { problemsOf }, { Webhooks }] = await Promise.all([
    import('yaml'),
    import('../api/validation.js'),
    import('../api/schemas/webhooks.js'),
  ]);
  let value: unknown;
  try {
    value = parseYaml(read(file));
  } catch (err) {
    throw new UsageError(`${file} is neither JSON nor YAML: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  const list = Array.isArray(value) ? value : (value as { webhooks?: unknown } | null)?.webhooks;
  if (!Array.isArray(list)) {
    throw new UsageError(
      `${file} must hold a list of webhooks (or {"webhooks": [...]}), e.g. [{"type": "confirm-step", "url": "https://ci.example/gate", "maxFailures": 3}]`,
    );
  }
  const problems = problemsOf(Webhooks, list, 'webhooks');
  if (problems.length > 0) throw new UsageError(`${file}: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
  return list as WebhookBody[];
}

function readText(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}
