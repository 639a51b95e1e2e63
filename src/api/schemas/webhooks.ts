/** Schemas of webhooks, as services and releases accept and answer them. */
import { Type } from 'typebox';
import { Duration } from './common.js';

export const WebhookIn = Type.Object(
  {
    type: Type.Enum(['pre-rollout', 'pre-promotion', 'confirm-step', 'event'], {
      description: 'pre-rollout, confirm-step and pre-promotion hold the release until they answer 2xx; event is told of every change',
    }),
    url: Type.String({
      minLength: 1,
      maxLength: 2048,
      description: 'an http(s) URL without credentials, e.g. https://ci.example/hooks/tern',
    }),
    timeout: Type.Optional(Duration),
    retries: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 10, description: 'extra attempts per call (default 3 for events, 0 for gates)' }),
    ),
    maxFailures: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        description: 'consecutive gate outages (5xx, timeouts; a 4xx refusal only holds) before rollback (default 5)',
      }),
    ),
    format: Type.Optional(Type.Enum(['json', 'slack'], { description: 'slack: a Slack incoming-webhook body (event hooks only)' })),
    events: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16, description: 'event hooks: only these actions, e.g. release.rollback' }),
    ),
  },
  { additionalProperties: false },
);

export const Webhooks = Type.Array(WebhookIn, { maxItems: 10, description: 'at most 10 webhooks' });

export const WebhookOut = Type.Object({
  type: Type.String(),
  url: Type.String({ description: 'token-like path segments and query values shown as ***' }),
  timeout: Type.String(),
  timeoutMs: Type.Integer(),
  retries: Type.Integer(),
  maxFailures: Type.Integer(),
  format: Type.String(),
  events: Type.Union([Type.Array(Type.String()), Type.Null()]),
});
