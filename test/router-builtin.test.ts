/**
 * The Router contract (src/providers/routers/contract.ts) against the built-in router: Tern's
 * own gateway in this process, on a free port, driven through createBuiltinRouter.
 */
import { pino } from 'pino';
import { startGateway } from '../src/gateway/gateway.js';
import { createBuiltinRouter } from '../src/providers/routers/builtin.js';
import { routerContract } from '../src/providers/routers/contract.js';

routerContract('builtin', async () => {
  const gateway = await startGateway({ host: '127.0.0.1', port: 0, admin: false, logger: pino({ level: 'warn' }) });
  return { router: createBuiltinRouter(gateway), url: gateway.url, close: () => gateway.close() };
});
