/** A free TCP port on `host` for the demo's external data planes (bound, read, released). */
import { createServer } from 'node:net';

/** Resolves with a port nothing listens on right now. */
export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
