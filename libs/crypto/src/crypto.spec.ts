import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeCipher } from './code-cipher.js';
import { constantTimeEqual, generateAlphanumericCode, generateNumericCode } from './codes.js';
import type { DomainError } from '#errors';
import { keyFingerprint, loadEncryptionKey, loadKeyRing } from './encryption-key.js';

describe('CodeCipher', () => {
  const cipher = new CodeCipher(Buffer.alloc(32, 1));

  it('round-trips a code and never stores it in plain text', () => {
    const value = cipher.encrypt('12345678');
    expect(value.crypted).not.toContain('12345678');
    expect(Buffer.from(value.crypted, 'base64').toString('latin1')).not.toContain('12345678');
    expect(cipher.decrypt(value)).toBe('12345678');
  });

  it('keeps its key in memory of its own, not in a slice of the shared allocation pool (a cache of ciphers would keep whole pool chunks alive)', () => {
    const pooled = Buffer.from(randomBytes(32).toString('base64'), 'base64');
    expect(pooled.buffer.byteLength).toBeGreaterThan(32);
    const cipher = new CodeCipher(pooled);
    const held = (cipher as unknown as { sealing: Buffer }).sealing;
    expect(held.equals(pooled)).toBe(true);
    expect(held.buffer.byteLength).toBe(32);
    expect(cipher.decrypt(new CodeCipher(Buffer.from(pooled)).encrypt('same key'))).toBe('same key');
  });

  it('encrypts the same code differently each time', () => {
    expect(cipher.encrypt('1').crypted).not.toBe(cipher.encrypt('1').crypted);
  });

  it('refuses a tampered value and a value of another key', () => {
    const value = cipher.encrypt('12345678');
    const raw = Buffer.from(value.crypted, 'base64');
    raw[14] = raw[14]! ^ 1;
    expect(() => cipher.decrypt({ ...value, crypted: raw.toString('base64') })).toThrow();
    expect(() => new CodeCipher(Buffer.alloc(32, 2)).decrypt(value)).toThrow(expect.objectContaining({ kind: 'FailedPrecondition', id: 'CRYPTO-K3yUn' }));
  });
});

describe('CodeCipher with several keys (rotation)', () => {
  const oldKey = Buffer.alloc(32, 1);
  const newKey = Buffer.alloc(32, 2);
  const single = new CodeCipher(oldKey);

  it('a single key keeps the id values always had: its fingerprint', () => {
    expect(single.keyId).toBe(keyFingerprint(oldKey));
    expect(single.keyId).toMatch(/^[0-9a-f]{12}$/);
  });

  it('seals with the chosen key, opens with any, and finds a key by its fingerprint too', () => {
    const sealedBefore = single.encrypt('11111111');
    const ring = new CodeCipher([{ id: 'old', key: oldKey }, { id: 'new', key: newKey }], 'new');
    const sealed = ring.encrypt('22222222');
    expect(sealed.keyId).toBe('new');
    expect(ring.decrypt(sealed)).toBe('22222222');
    // Sealed under ENCRYPTION_KEY (fingerprint id), opened once that key is named "old".
    expect(ring.decrypt(sealedBefore)).toBe('11111111');
    expect(ring.decrypt(new CodeCipher([{ id: 'old', key: oldKey }], 'old').encrypt('3'))).toBe('3');
  });

  it('a value under a key no longer configured is FailedPrecondition with the key id, never the value', () => {
    const sealed = new CodeCipher([{ id: 'old', key: oldKey }], 'old').encrypt('44444444');
    const err = (() => {
      try {
        new CodeCipher([{ id: 'new', key: newKey }], 'new').decrypt(sealed);
      } catch (e) {
        return e as DomainError;
      }
    })();
    expect(err).toMatchObject({ kind: 'FailedPrecondition', id: 'CRYPTO-K3yUn', params: { keyId: 'old' } });
    expect(JSON.stringify({ ...err, message: err?.message })).not.toContain(sealed.crypted);
    // A value that does not open: Internal with an id, no stack of the cipher.
    expect(() => single.decrypt({ keyId: single.keyId, crypted: 'AAAA' })).toThrow(expect.objectContaining({ kind: 'Internal', id: 'CRYPTO-D3crF' }));
  });

  it('refuses a sealing key that is not in the ring, and one id for two keys', () => {
    expect(() => new CodeCipher([{ id: 'a', key: oldKey }], 'b')).toThrow(/not among/);
    expect(() => new CodeCipher([{ id: 'a', key: oldKey }, { id: 'a', key: newKey }], 'a')).toThrow(/two encryption keys/);
  });
});

describe('loadKeyRing', () => {
  const a = Buffer.alloc(32, 3);
  const b = Buffer.alloc(32, 4);
  it('ENCRYPTION_KEY alone seals under its fingerprint; with ENCRYPTION_KEYS it still seals unless ENCRYPTION_KEY_ID says otherwise', () => {
    expect(loadKeyRing({ key: a, dataDir: '/nonexistent' })).toEqual({ keys: [{ id: keyFingerprint(a), key: a }], sealingKeyId: keyFingerprint(a) });
    expect(loadKeyRing({ key: a, keys: [{ id: 'b', key: b }], dataDir: '/nonexistent' }).sealingKeyId).toBe(keyFingerprint(a));
    expect(loadKeyRing({ key: a, keys: [{ id: 'b', key: b }], sealingKeyId: 'b', dataDir: '/nonexistent' }).sealingKeyId).toBe('b');
    expect(loadKeyRing({ keys: [{ id: 'b', key: b }], dataDir: '/nonexistent' }).sealingKeyId).toBe('b');
    expect(() => loadKeyRing({ keys: [{ id: 'a', key: a }, { id: 'b', key: b }], dataDir: '/nonexistent' })).toThrow(/ENCRYPTION_KEY_ID/);
  });

  it('without keys, the generated key of the data directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ring-'));
    const ring = loadKeyRing({ dataDir: dir });
    expect(ring.keys).toEqual([{ id: keyFingerprint(loadEncryptionKey({ dataDir: dir })), key: loadEncryptionKey({ dataDir: dir }) }]);
  });
});

describe('codes', () => {
  it('generates codes of the asked length and alphabet', () => {
    expect(generateNumericCode(8)).toMatch(/^\d{8}$/);
    expect(generateAlphanumericCode(10)).toMatch(/^[A-Z2-9]{10}$/);
    const many = new Set(Array.from({ length: 200 }, () => generateNumericCode(8)));
    expect(many.size).toBeGreaterThan(190);
  });

  it('compares secrets by value', () => {
    expect(constantTimeEqual('12345678', '12345678')).toBe(true);
    expect(constantTimeEqual('12345678', '12345679')).toBe(false);
    expect(constantTimeEqual('1234', '12345678')).toBe(false);
  });
});

describe('loadEncryptionKey', () => {
  it('prefers the configured key', () => {
    const key = Buffer.alloc(32, 9);
    expect(loadEncryptionKey({ key, dataDir: '/nonexistent' })).toBe(key);
  });

  it('generates a key once into the data directory, readable by the owner only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'key-'));
    const first = loadEncryptionKey({ dataDir: dir });
    expect(first).toHaveLength(32);
    expect(statSync(join(dir, 'encryption.key')).mode & 0o777).toBe(0o600);
    expect(loadEncryptionKey({ dataDir: dir })).toEqual(first);
    expect(readFileSync(join(dir, 'encryption.key'), 'utf8').trim()).toBe(first.toString('base64'));
  });
});
