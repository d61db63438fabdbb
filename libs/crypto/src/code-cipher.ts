import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { failedPrecondition, internal } from '#errors';
import type { EncryptedValue } from './encrypted-value.js';
import { keyFingerprint, type EncryptionKey } from './encryption-key.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM for one-time codes at rest. Codes are encrypted, not hashed, because the
 * notifier must read them to send them; GCM's tag refuses anything tampered with.
 *
 * Several keys may open values (rotation); one seals new ones. Each value carries the id of
 * the key that sealed it. A key is also found by its fingerprint (the first 12 hex digits of
 * its SHA-256), the id every value had before keys were named, so values sealed under
 * ENCRYPTION_KEY stay readable once that key is listed in ENCRYPTION_KEYS under a name.
 */
export class CodeCipher {
  /** The id new values are sealed with. */
  readonly keyId: string;
  private readonly sealing: Buffer;
  private readonly byId = new Map<string, Buffer>();

  constructor(keys: Buffer | readonly EncryptionKey[], sealingKeyId?: string) {
    const ring = Buffer.isBuffer(keys) ? [{ id: keyFingerprint(keys), key: keys }] : keys;
    if (ring.length === 0) throw new RangeError('at least one encryption key is needed');
    for (const { id, key: given } of ring) {
      if (given.length !== 32) throw new RangeError('the encryption key must be 32 bytes');
      if (this.byId.has(id) && !this.byId.get(id)!.equals(given)) throw new RangeError(`two encryption keys have the id ${id}`);
      this.byId.set(id, ownCopy(given));
    }
    // Fingerprints last: an explicit id always wins.
    for (const { id, key } of ring) if (!this.byId.has(keyFingerprint(key))) this.byId.set(keyFingerprint(key), this.byId.get(id)!);
    this.keyId = sealingKeyId ?? ring[0]!.id;
    const sealing = this.byId.get(this.keyId);
    if (!sealing) throw new RangeError(`the sealing key ${this.keyId} is not among the encryption keys`);
    this.sealing = sealing;
  }

  /** Whether a value sealed under `keyId` can be opened. */
  hasKey(keyId: string): boolean {
    return this.byId.has(keyId);
  }

  /** HMAC-SHA256 of `text` under the sealing key, hex: a keyed hash (a lookup index that names nothing). */
  hmac(text: string): string {
    return createHmac('sha256', this.sealing).update(text, 'utf8').digest('hex');
  }

  encrypt(plain: string): EncryptedValue {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.sealing, iv);
    const crypted = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return { keyId: this.keyId, crypted: Buffer.concat([iv, crypted, cipher.getAuthTag()]).toString('base64') };
  }

  /**
   * Opens a value. A value sealed under a key that is not configured (any more) is a
   * FailedPrecondition `CRYPTO-K3yUn` naming the key id; a value that does not open (cut,
   * tampered with) an Internal `CRYPTO-D3crF`. Neither carries the value.
   */
  decrypt(value: EncryptedValue): string {
    const keyId = typeof value?.keyId === 'string' ? value.keyId : '';
    const key = this.byId.get(keyId);
    if (!key) throw failedPrecondition('CRYPTO-K3yUn', 'Errors.Crypto.UnknownKey', { keyId: keyId.slice(0, 64) });
    const raw = Buffer.from(typeof value.crypted === 'string' ? value.crypted : '', 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw internal('CRYPTO-D3crF', 'Errors.Crypto.DecryptFailed', { keyId });
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw internal('CRYPTO-D3crF', 'Errors.Crypto.DecryptFailed', { keyId });
    }
  }
}

export const CODE_CIPHER = Symbol('CodeCipher');

/**
 * The key in memory of its own. A small Buffer (from base64, a decryption) is usually a slice of
 * Node's shared 8 KiB allocation pool, and keeping it keeps the whole pool chunk alive: with one
 * cipher per person's data key in a cache of thousands, that was tens of MB of dead pool chunks.
 */
function ownCopy(key: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(key.length);
  key.copy(own);
  return own;
}
