/** Schemas of the service routes: what a service is made of, as the API accepts and answers it. */
import { Type } from 'typebox';
import { Endpoints, IsoTime, ServiceName, VersionLabel } from './common.js';
import { MAX_RULE_VALUE } from '../../core/rule-regex.js';
import { MAX_RULE_REGEX } from '../input.js';
import { DeployIn, DeployOut } from './deploy.js';
import { MetricsIn, MetricsOut } from './metrics.js';
import { ReleaseStatusOut } from './releases.js';
import { WebhookOut, Webhooks } from './webhooks.js';

/** RFC 9110 §5.6.2 token: what header and cookie names are made of. */
const TOKEN_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

const HeaderName = Type.String({
  pattern: TOKEN_PATTERN,
  maxLength: 128,
  description: 'an HTTP header name (RFC 9110 token), e.g. x-user-id',
});
const CookieName = Type.String({ pattern: TOKEN_PATTERN, maxLength: 128, description: 'a cookie name (RFC 6265 token), e.g. tern_uid' });

export const Match = Type.Object(
  {
    host: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?$',
        description: 'a host name, optionally with :port, e.g. checkout.example',
      }),
    ),
    pathPrefix: Type.Optional(
      Type.String({
        pattern: '^/[^\\s?#]*$',
        maxLength: 1024,
        description: 'a path starting with "/" without query or fragment, e.g. /checkout',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1, description: 'how requests reach the service: host and/or pathPrefix (at least one)' },
);

export const StickinessInput = Type.Object(
  { header: Type.Optional(HeaderName), cookie: Type.Optional(CookieName) },
  { additionalProperties: false, description: 'where the user key comes from: header, else cookie (default tern_uid), else client IP' },
);

export const VersionInput = Type.Object({ version: VersionLabel, endpoints: Endpoints }, { additionalProperties: false });

export const Rule = Type.Object(
  {
    header: Type.Optional(HeaderName),
    cookie: Type.Optional(CookieName),
    equals: Type.Optional(Type.String({ maxLength: 1024 })),
    regex: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_RULE_REGEX,
        description: `a regular expression of at most ${MAX_RULE_REGEX} characters, RE2 syntax (matched in linear time: no backreferences or lookaround); a header or cookie value longer than ${MAX_RULE_VALUE} characters matches no regex rule`,
      }),
    ),
    target: Type.Enum(['canary', 'stable']),
  },
  { additionalProperties: false, description: 'send requests whose header or cookie equals / matches to the canary or stable version' },
);

export const Rules = Type.Array(Rule, { maxItems: 32 });

export const ServiceCreate = Type.Object(
  {
    name: ServiceName,
    match: Match,
    stickiness: Type.Optional(StickinessInput),
    stable: VersionInput,
    rules: Type.Optional(Rules),
    webhooks: Type.Optional(Webhooks),
    deploy: Type.Optional(DeployIn),
    metrics: Type.Optional(MetricsIn),
  },
  { additionalProperties: false },
);

export const ServicePatch = Type.Object(
  {
    match: Type.Optional(Match),
    stickiness: Type.Optional(StickinessInput),
    stable: Type.Optional(VersionInput),
    rules: Type.Optional(Rules),
    webhooks: Type.Optional(Webhooks),
    deploy: Type.Optional(DeployIn),
    metrics: Type.Optional(MetricsIn),
  },
  { additionalProperties: false, minProperties: 1, description: 'the fields to change (at least one)' },
);

const VersionOut = Type.Object({ version: Type.String(), endpoints: Type.Array(Type.String()) });

export const ServiceResponse = Type.Object({
  name: Type.String(),
  match: Type.Object({ host: Type.Optional(Type.String()), pathPrefix: Type.Optional(Type.String()) }),
  stickiness: Type.Object({ header: Type.Optional(Type.String()), cookie: Type.String() }),
  stable: VersionOut,
  rules: Type.Array(
    Type.Object({
      header: Type.Optional(Type.String()),
      cookie: Type.Optional(Type.String()),
      equals: Type.Optional(Type.String()),
      regex: Type.Optional(Type.String()),
      target: Type.Enum(['canary', 'stable']),
    }),
  ),
  webhooks: Type.Array(WebhookOut, { description: 'apply to every release of the service; secrets in URLs shown as ***' }),
  deploy: DeployOut,
  metrics: MetricsOut,
  activeRelease: Type.Union([
    Type.Object({
      id: Type.String(),
      version: Type.String({ description: 'the version the release is moving to' }),
      status: ReleaseStatusOut,
      weight: Type.Number({ description: 'percent' }),
    }),
    Type.Null(),
  ]),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});

export const ServiceList = Type.Object({ services: Type.Array(ServiceResponse) });
