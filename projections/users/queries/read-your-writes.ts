import type { ReadYourWrites } from '#projections/runner';

/** The user read model's ReadYourWrites (UserProjectionModule provides it). */
export const USER_READ_YOUR_WRITES = Symbol('UserReadYourWrites');
export type UserReadYourWrites = ReadYourWrites;
