// The configuration lives in libs/config (libs must not import from apps); this keeps old paths working.
export * from '../../../libs/config/src/config.js';
