import { expect } from '@jest/globals';
import type { Caller } from '../../../auth/src/caller.js';
import type { DomainError } from '../../../errors/src/index.js';
import type { NewEvent } from '../../../eventstore/src/index.js';
import type { UserEvent } from '../events.js';
import { evolveUser, initialUserState, type UserState } from '../user-state.js';

/**
 * Given/When/Then for decide functions: events in, events or an error out.
 *   given(events).when((state) => decide(state, ...)).then([...]) / .thenFails(kind, id)
 */
export function given(...events: UserEvent[]) {
  const state = events.reduce<UserState>((s, e) => evolveUser(s, e), initialUserState());
  return {
    state,
    when(decide: (state: UserState) => NewEvent[]) {
      let outcome: { events: NewEvent[] } | { error: unknown };
      try {
        outcome = { events: decide(state) };
      } catch (error) {
        outcome = { error };
      }
      return {
        then(expected: Pick<NewEvent, 'type' | 'data'>[]) {
          if ('error' in outcome) throw outcome.error;
          expect(outcome.events.map(({ type, data }) => ({ type, data }))).toEqual(expected);
          return outcome.events;
        },
        thenFails(kind: DomainError['kind'], id: string) {
          if (!('error' in outcome)) throw new Error(`expected ${kind} ${id}, got events ${JSON.stringify(outcome.events)}`);
          expect(outcome.error).toMatchObject({ name: 'DomainError', kind, id });
        },
      };
    },
  };
}

export const ORG = '100000000000000001';
export const OTHER_ORG = '100000000000000002';
export const USER = '200000000000000001';

export function caller(overrides: Partial<Caller> = {}): Caller {
  return { userId: '900000000000000001', orgId: ORG, instanceId: 'instance-1', kind: 'machine', roles: [], ...overrides };
}

export const humanAdded = (orgId = ORG): UserEvent => ({
  type: 'user.human.added',
  data: {
    username: 'ada',
    orgId,
    profile: { givenName: 'Ada', familyName: 'Lovelace', displayName: 'Ada Lovelace', preferredLanguage: 'en' },
    email: 'ada@example.com',
  },
});
export const machineAdded = (orgId = ORG): UserEvent => ({
  type: 'user.machine.added',
  data: { username: 'robot', orgId, name: 'Robot' },
});
export const emailVerified = (email = 'ada@example.com'): UserEvent => ({ type: 'user.email.verified', data: { email } });
export const emailChanged = (email: string): UserEvent => ({ type: 'user.email.changed', data: { email } });
export const otpEmailAdded = (): UserEvent => ({ type: 'user.otp.email.added', data: {} });
export const otpEmailRemoved = (): UserEvent => ({ type: 'user.otp.email.removed', data: {} });
