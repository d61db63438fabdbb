import type { ReadYourWrites } from '#projections/runner';

/** The sessions read model's ReadYourWrites (SessionProjectionModule provides it). */
export const SESSION_READ_YOUR_WRITES = Symbol('SessionReadYourWrites');
export type SessionReadYourWrites = ReadYourWrites;
