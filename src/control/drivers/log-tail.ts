/** The last lines of an instance's log file, read from its end (the file may be large). */
import { open } from 'node:fs/promises';

/** Up to `maxLines` last lines of `file` (reading at most `maxBytes` from its end); [] when it does not exist. */
export async function tailLines(file: string, maxLines: number, maxBytes = 64 * 1024): Promise<string[]> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    // A partial first line (we started mid-file) is dropped.
    if (length < size) lines.shift();
    return lines.slice(-maxLines);
  } finally {
    await handle.close();
  }
}
