/** Schemas of deploy drivers: a service's `deploy` settings and a release's started instances. */
import { Type } from 'typebox';
import { Duration, IsoTime, NullableIsoTime } from './common.js';

const StaticIn = Type.Object({ driver: Type.Literal('static') }, { additionalProperties: false });

const ProcessIn = Type.Object(
  {
    driver: Type.Literal('process'),
    command: Type.String({
      minLength: 1,
      maxLength: 4096,
      description: 'a command line with {port} and {version} placeholders, run without a shell',
    }),
    instances: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 16, description: 'how many instances of each version (1-16, default 1)' }),
    ),
    readiness: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(Type.String({ pattern: '^/', maxLength: 1024, description: 'a path starting with "/"' })),
          timeout: Type.Optional(Duration),
        },
        { additionalProperties: false },
      ),
    ),
    env: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' }), Type.String({ maxLength: 4096 }), {
        maxProperties: 64,
        additionalProperties: false,
        description: 'environment variables: names of letters, digits and "_"',
      }),
    ),
    cwd: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    retireAfter: Type.Optional(Duration),
  },
  { additionalProperties: false },
);

export const DeployIn = Type.Union([StaticIn, ProcessIn], {
  description: '{"driver":"static"} (endpoints come with each release) or {"driver":"process","command":"node app.js --port {port}",...}',
});

export const DeployOut = Type.Object({
  driver: Type.String(),
  command: Type.Optional(Type.String()),
  instances: Type.Optional(Type.Integer()),
  readiness: Type.Optional(Type.Object({ path: Type.String(), timeout: Type.String(), timeoutMs: Type.Integer() })),
  env: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'values shown as ***' })),
  cwd: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  retireAfter: Type.Optional(Type.String()),
  retireAfterMs: Type.Optional(Type.Integer()),
});

export const DeploymentOut = Type.Object({
  driver: Type.String(),
  state: Type.String({ description: 'starting, ready, failed or retired' }),
  instances: Type.Array(Type.Object({ index: Type.Integer(), pid: Type.Integer(), endpoint: Type.String(), startedAt: IsoTime })),
  retiredAt: NullableIsoTime,
});
