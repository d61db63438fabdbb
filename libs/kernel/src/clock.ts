/**
 * The time, as the domain reads it: handlers, code and token expiry, session lifetimes and send
 * windows all ask a Clock, never `new Date()`, so that a test moves time instead of sleeping.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The Nest token of the Clock; tests override it (`overrideProvider(CLOCK)`). */
export const CLOCK = Symbol('Clock');

/** The provider every module that reads time lists; one override in a test replaces them all. */
export const clockProvider = { provide: CLOCK, useValue: systemClock };
