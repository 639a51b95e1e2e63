/**
 * Request validation with TypeBox: the same schemas that feed the OpenAPI document. Bodies are
 * checked as sent (no type coercion: `"weight": "25"` is an error); path and query strings are
 * converted to the declared types first, since they only ever arrive as text. Errors are
 * rewritten into messages that name the field as a JSON path and say what is accepted.
 */
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';

/** One problem with a request part, as sent to clients in `details.errors`. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/** Fastify's validation-error shape plus the readable field; only `field` and `message` reach clients. */
type Problem = FastifySchemaValidationError & FieldProblem;

/** What TypeBox reports (Ajv-compatible). */
interface RawError {
  readonly keyword: string;
  readonly schemaPath: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message: string;
}

/** Deepest nesting of objects and arrays a JSON body may have (Tern's own requests need under 10). */
export const MAX_JSON_DEPTH = 64;

/**
 * True when `text` (JSON) nests objects/arrays deeper than `max`. A linear scan that skips
 * strings, so it never recurses: a 5,000-deep document used to overflow the stack in the
 * recursive validation and error formatting.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

const PART_NAMES: Readonly<Record<string, string>> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

/** Fastify validator compiler over TypeBox. A missing body counts as `{}` when the body schema requires nothing. */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  const part = PART_NAMES[httpPart ?? 'body'] ?? 'body';
  const bodyOptional = part === 'body' && !('required' in schema);
  return (value: unknown) => {
    let input = value;
    if (part !== 'body') input = Value.Convert(schema, value);
    else if (input === null && bodyOptional) input = {};
    if (check.Check(input)) return { value: input };
    return { error: describeErrors(schema, input, [...check.Errors(input)] as RawError[], part) };
  };
};

/** The error Fastify raises for invalid input: the best problem's message, all problems attached. */
export function schemaErrorFormatter(errors: FastifySchemaValidationError[], _dataVar: string): Error {
  const first = (errors as Partial<Problem>[])[0];
  return new Error(first?.field ? `${first.field}: ${first.message ?? 'invalid'}` : 'the request does not match what this route accepts');
}

/**
 * The problems of `value` against `schema`, worded as the API words them (none when it is valid);
 * fields are named from `part`, e.g. `analysis.errorRate.tolerance`. The CLI uses it to check a
 * file before sending it.
 */
export function problemsOf(schema: TSchema, value: unknown, part: string): FieldProblem[] {
  const check = Compile(schema);
  if (check.Check(value)) return [];
  return describeErrors(schema, value, [...check.Errors(value)] as RawError[], part).map(({ field, message }) => ({ field, message }));
}

/** Orders problems so the most specific one (deepest path) comes first; merges union alternatives. */
function describeErrors(root: TSchema, data: unknown, raw: readonly RawError[], part: string): Problem[] {
  const useful = raw.filter((e) => e.keyword !== 'boolean' && e.keyword !== 'anyOf');
  const errors = useful.length > 0 ? useful : raw;
  const byPath = new Map<string, RawError[]>();
  for (const e of errors) byPath.set(e.instancePath, [...(byPath.get(e.instancePath) ?? []), e]);
  const paths = [...byPath.keys()].sort((a, b) => depth(b) - depth(a));
  return paths.map((path) => {
    const errors = byPath.get(path) ?? [];
    const first = errors[0]!;
    return {
      keyword: first.keyword,
      instancePath: path,
      schemaPath: first.schemaPath,
      params: first.params,
      field: fieldName(part, path),
      message: describeAt(root, data, errors),
    };
  });
}

function depth(path: string): number {
  return path === '' ? 0 : path.split('/').length;
}

function describeAt(root: TSchema, data: unknown, errors: readonly RawError[]): string {
  const value = valueAt(data, errors[0]?.instancePath ?? '');
  const types = errors.filter((e) => e.keyword === 'type').map((e) => String(e.params.type));
  const consts = errors.filter((e) => e.keyword === 'const').map((e) => JSON.stringify(e.params.allowedValue));
  if (types.length > 1 || (types.length === 1 && errors.length === 1)) return `expected ${types.join(' or ')}, got ${kindOf(value)}`;
  if (consts.length > 0) return `expected one of ${consts.join(', ')}, got ${preview(value)}`;
  return describeOne(root, value, errors.find((e) => e.keyword !== 'type') ?? errors[0]!);
}

function describeOne(root: TSchema, value: unknown, e: RawError): string {
  const node = schemaAt(root, e.schemaPath);
  const accepted = typeof node?.description === 'string' ? `; expected ${node.description}` : '';
  switch (e.keyword) {
    case 'required':
      return `missing required field ${quoteList(e.params.requiredProperties)}`;
    case 'additionalProperties': {
      const known = node && typeof node.properties === 'object' && node.properties ? Object.keys(node.properties) : [];
      if (known.length === 0 && accepted) return `key ${quoteList(e.params.additionalProperties)} is not accepted${accepted}`;
      return `unknown field ${quoteList(e.params.additionalProperties)}${known.length ? ` (accepted: ${known.join(', ')})` : ''}`;
    }
    case 'enum':
      return `expected one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${preview(value)}`;
    case 'pattern':
    case 'format':
      return `${preview(value)} is not accepted${accepted || `; expected text matching ${String(e.params.pattern ?? e.params.format)}`}`;
    default:
      return `${e.message}${accepted}`;
  }
}

function quoteList(list: unknown): string {
  return (Array.isArray(list) ? list : [list]).map((v) => `"${String(v)}"`).join(', ');
}

/** JSON pointer (`/steps/0/weight`) to a readable path (`body.steps[0].weight`). */
export function fieldName(part: string, pointer: string): string {
  if (pointer === '') return part;
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce(
      (acc, seg) =>
        /^\d+$/.test(seg) ? `${acc}[${seg}]` : /^[A-Za-z_$][\w$]*$/.test(seg) ? `${acc}.${seg}` : `${acc}[${JSON.stringify(seg)}]`,
      part,
    );
}

function valueAt(data: unknown, pointer: string): unknown {
  let cur = data;
  for (const seg of pointer.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}

/** The schema node a TypeBox schemaPath (`#/properties/steps/anyOf/1`) points at; a union's own node for its branches. */
function schemaAt(root: TSchema, schemaPath: string): Record<string, unknown> | undefined {
  const segs = schemaPath.replace(/^#/, '').split('/').slice(1);
  if (segs.length >= 2 && segs[segs.length - 2] === 'anyOf') segs.splice(-2);
  let cur: unknown = root;
  for (const seg of segs) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>) : undefined;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  return `${typeof value} ${preview(value)}`;
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? '[…]' : '{…}'; // only objects and arrays fail to stringify (too deep)
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
