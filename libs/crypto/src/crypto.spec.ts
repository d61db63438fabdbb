import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeCipher } from './code-cipher.js';
import { constantTimeEqual, generateAlphanumericCode, generateNumericCode } from './codes.js';
import { loadEncryptionKey } from './encryption-key.js';

describe('CodeCipher', () => {
  const cipher = new CodeCipher(Buffer.alloc(32, 1));

  it('round-trips a code and never stores it in plain text', () => {
    const value = cipher.encrypt('12345678');
    expect(value.crypted).not.toContain('12345678');
    expect(Buffer.from(value.crypted, 'base64').toString('latin1')).not.toContain('12345678');
    expect(cipher.decrypt(value)).toBe('12345678');
  });

  it('encrypts the same code differently each time', () => {
    expect(cipher.encrypt('1').crypted).not.toBe(cipher.encrypt('1').crypted);
  });

  it('refuses a tampered value and a value of another key', () => {
    const value = cipher.encrypt('12345678');
    const raw = Buffer.from(value.crypted, 'base64');
    raw[14] = raw[14]! ^ 1;
    expect(() => cipher.decrypt({ ...value, crypted: raw.toString('base64') })).toThrow();
    expect(() => new CodeCipher(Buffer.alloc(32, 2)).decrypt(value)).toThrow(/not the configured key/);
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
