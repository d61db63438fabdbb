export * from './code-cipher.js';
export * from './codes.js';
export * from './crypto.module.js';
export * from './encrypted-value.js';
export * from './encryption-key.js';
export * from './personal-data-keys.js';
export * from './personal-data-sealing.js';
