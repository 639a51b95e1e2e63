/**
 * The per-server webhook signing secret: `TERN_WEBHOOK_SECRET` when set, else
 * `<data-dir>/webhook.secret`, generated (32 random bytes, hex) with mode 0600 on first start.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const WEBHOOK_SECRET_FILE = 'webhook.secret';

/**
 * Returns the signing secret and where it came from.
 * @throws the file system's error when the file can neither be read nor created.
 */
export async function loadWebhookSecret(
  dataDir: string,
  fromEnv: string | undefined,
): Promise<{ secret: string; source: 'env' | 'file' | 'generated' }> {
  if (fromEnv !== undefined && fromEnv !== '') return { secret: fromEnv, source: 'env' };
  const file = path.join(dataDir, WEBHOOK_SECRET_FILE);
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (text !== '') return { secret: text, source: 'file' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomBytes(32).toString('hex');
  // 'wx' fails if another process created it meanwhile; then its secret wins.
  try {
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadWebhookSecret(dataDir, undefined);
    throw err;
  }
  return { secret, source: 'generated' };
}
