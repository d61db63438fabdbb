import type { ReadYourWrites } from '../../runner/index.js';

/** The user read model's ReadYourWrites (UserProjectionModule provides it). */
export const USER_READ_YOUR_WRITES = Symbol('UserReadYourWrites');
export type UserReadYourWrites = ReadYourWrites;
