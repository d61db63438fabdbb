export * from './events.js';
export * from './add-machine-user.js';
export * from './add-personal-access-token.js';
export * from './create-org.js';
export * from './instance.js';
export * from './org-state.js';
export * from './org.module.js';
export * from './pat-format.js';
