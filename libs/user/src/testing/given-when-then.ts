import type { Caller } from '#access';
import type { NewEvent } from '#eventstore';
import { givenState } from '#test-kit';
import { evolveUser, initialUserState, userPersonalData, type UserEvent, type UserState } from '#user';

/**
 * Given/When/Then for the user's decide functions: user events in, events (type and data) or
 * a DomainError out.
 *   given(events).when((state) => decide(state, ...)).then([...]) / .thenFails(kind, id)
 */
export function given(...events: UserEvent[]) {
  const state = events.reduce<UserState>((s, e) => evolveUser(s, e), initialUserState());
  const scenario = givenState(state);
  return {
    state,
    when(decide: (state: UserState) => NewEvent<UserEvent>[]) {
      return scenario.when(decide, (events) => events.map(({ type, data }) => ({ type, data })));
    },
  };
}

/**
 * The events as a command that reads its stream without personal data gets them
 * (`personalData: false`): the fields userPersonalData names are absent, left sealed in the store.
 */
export function withoutPersonalData(...events: UserEvent[]): UserEvent[] {
  return events.map((event) => {
    const fields = userPersonalData[event.type]?.fields ?? [];
    const data = Object.fromEntries(Object.entries(event.data).filter(([field]) => !fields.includes(field)));
    return { ...event, data } as UserEvent;
  });
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
