import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { EncryptedValue } from './encrypted-value.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM for one-time codes at rest. Codes are encrypted, not hashed, because the
 * notifier must read them to send them; GCM's tag refuses anything tampered with.
 */
export class CodeCipher {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new RangeError('the encryption key must be 32 bytes');
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 12);
  }

  encrypt(plain: string): EncryptedValue {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const crypted = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return { keyId: this.keyId, crypted: Buffer.concat([iv, crypted, cipher.getAuthTag()]).toString('base64') };
  }

  decrypt(value: EncryptedValue): string {
    if (value.keyId !== this.keyId) throw new Error(`encrypted with key ${value.keyId}, not the configured key ${this.keyId}`);
    const raw = Buffer.from(value.crypted, 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('encrypted value is truncated');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}

export const CODE_CIPHER = Symbol('CodeCipher');
