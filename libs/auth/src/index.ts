export * from './authenticated-users.js';
export * from './auth.module.js';
export * from './authenticator.js';
export * from './bootstrap.js';
export * from './pat.js';
export * from './token-authenticator.js';
