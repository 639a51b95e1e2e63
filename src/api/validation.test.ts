import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from 'typebox';
import { fieldName, validatorCompiler } from './validation.js';

type Result = { value?: unknown; error?: { field: string; message: string }[] };
const compile = (schema: ReturnType<typeof Type.Object>, httpPart: string) =>
  validatorCompiler({ schema, httpPart, method: 'POST', url: '/' }) as (value: unknown) => Result;

describe('validation', () => {
  it('turns JSON pointers into readable paths', () => {
    assert.equal(fieldName('body', ''), 'body');
    assert.equal(fieldName('body', '/steps/0/weight'), 'body.steps[0].weight');
    assert.equal(fieldName('body', '/metadata/a~1b'), 'body.metadata["a/b"]');
  });

  it('never coerces body types, but converts query strings', () => {
    const schema = Type.Object({ n: Type.Integer() }, { additionalProperties: false });
    assert.equal(compile(schema, 'body')({ n: '5' }).error?.[0]?.message, 'expected integer, got string "5"');
    assert.deepEqual(compile(schema, 'querystring')({ n: '5' }).value, { n: 5 });
  });

  it('treats a missing body as {} only when nothing is required', () => {
    assert.deepEqual(compile(Type.Object({ reason: Type.Optional(Type.String()) }), 'body')(null).value, {});
    assert.match(compile(Type.Object({ weight: Type.Number() }), 'body')(null).error?.[0]?.message ?? '', /expected object, got null/);
  });

  it('names unknown fields and what is accepted', () => {
    const schema = Type.Object({ a: Type.String(), b: Type.Optional(Type.String()) }, { additionalProperties: false });
    const error = compile(schema, 'body')({ a: 'x', colour: 1 }).error?.[0];
    assert.deepEqual(error, { ...error, field: 'body', message: 'unknown field "colour" (accepted: a, b)' });
  });
});
