/**
 * The gateway both hostile benches measure: the built-in gateway in its own process with the
 * default limits, one service split 80/20 between a stable and a canary endpoint.
 */
import { pino } from 'pino';
import { startGateway, type Gateway } from '../../src/gateway/gateway.js';

export function startBenchGateway(stable: string, canary: string, warmUpRequests: number): Promise<Gateway> {
  return startGateway({
    host: '127.0.0.1',
    port: 0,
    admin: false,
    exposeVersionHeader: true,
    logger: pino({ level: 'warn' }),
    warmUpRequests,
    initialTable: {
      version: 1,
      routes: [
        {
          service: 'shop',
          match: { pathPrefix: '/' },
          stickiness: { cookie: 'tern_uid' },
          rules: [],
          stable: { version: 'v1', endpoints: [stable] },
          canary: { version: 'v2', endpoints: [canary], weight: 2_000, salt: 'hostile', releaseId: 'rel-hostile' },
        },
      ],
    },
  });
}
