import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The key that encrypts codes at rest: ENCRYPTION_KEY when given, else (embedded mode only)
 * a key generated once into DATA_DIR/encryption.key, readable by the owner alone.
 */
export function loadEncryptionKey(options: { key?: Buffer; dataDir: string }): Buffer {
  if (options.key) return options.key;
  mkdirSync(options.dataDir, { recursive: true });
  const path = join(options.dataDir, 'encryption.key');
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64')}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte base64 key`);
  return key;
}
