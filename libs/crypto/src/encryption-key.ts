import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

/** A key of the key ring: ENCRYPTION_KEYS `id:base64` entries. */
export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/**
 * The id of a key without a name (ENCRYPTION_KEY, the generated key): the first 12 hex digits
 * of its SHA-256. Values sealed before keys had names carry this id.
 */
export const keyFingerprint = (key: Buffer): string => createHash('sha256').update(key).digest('hex').slice(0, 12);

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

export interface KeyRingOptions {
  /** ENCRYPTION_KEY: one key, its id its fingerprint. */
  key?: Buffer;
  /** ENCRYPTION_KEYS: named keys. */
  keys?: readonly EncryptionKey[];
  /** ENCRYPTION_KEY_ID: which key seals (an id of `keys`, or the fingerprint of `key`). */
  sealingKeyId?: string;
  dataDir: string;
}

/**
 * Every key that opens values, and the one that seals: ENCRYPTION_KEY (under its fingerprint)
 * and ENCRYPTION_KEYS; neither given, the generated key of DATA_DIR. The sealing key is
 * ENCRYPTION_KEY_ID, else ENCRYPTION_KEY, else the only key of ENCRYPTION_KEYS (the settings
 * check refuses several keys without ENCRYPTION_KEY_ID).
 */
export function loadKeyRing(options: KeyRingOptions): { keys: EncryptionKey[]; sealingKeyId: string } {
  const keys: EncryptionKey[] = [...(options.key ? [{ id: keyFingerprint(options.key), key: options.key }] : []), ...(options.keys ?? [])];
  if (keys.length === 0) {
    const generated = loadEncryptionKey({ dataDir: options.dataDir });
    keys.push({ id: keyFingerprint(generated), key: generated });
  }
  if (!options.sealingKeyId && !options.key && keys.length > 1) throw new Error('several encryption keys: ENCRYPTION_KEY_ID must say which one seals');
  return { keys, sealingKeyId: options.sealingKeyId ?? keys[0]!.id };
}
