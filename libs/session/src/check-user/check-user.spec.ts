import { describe, it } from '@jest/globals';
import type { UserEvent } from '#user';
import { given, humanAdded, ORG, OTHER_ORG, USER } from '#user/testing';
import { givenSession, sessionAdded, userChecked } from '#session/testing';
import { decideUserCheck } from './check-user.js';

const now = new Date('2026-01-01T10:00:00.000Z');
const locked: UserEvent = { type: 'user.locked', data: {} };
const unlocked: UserEvent = { type: 'user.unlocked', data: {} };

describe('decideUserCheck', () => {
  it('checks an active user: id, organization, username as login name, time', () => {
    const user = given(humanAdded(OTHER_ORG)).state;
    givenSession(sessionAdded())
      .when((session) => decideUserCheck(session, user, { userId: USER, now }))
      .then({ type: 'session.user.checked', data: { userId: USER, orgId: OTHER_ORG, loginName: 'ada', checkedAt: now.toISOString() } });
  });

  it('answers NotFound for an unknown user', () => {
    givenSession(sessionAdded())
      .when((session) => decideUserCheck(session, given().state, { userId: USER, now }))
      .thenFails('NotFound', 'SESSION-UsrNf');
  });

  it('refuses a locked user as not active (SESSION-Gj4ko), and accepts them again once unlocked', () => {
    givenSession(sessionAdded())
      .when((session) => decideUserCheck(session, given(humanAdded(), locked).state, { userId: USER, now }))
      .thenFails('FailedPrecondition', 'SESSION-Gj4ko');
    givenSession(sessionAdded())
      .when((session) => decideUserCheck(session, given(humanAdded(), locked, unlocked).state, { userId: USER, now }))
      .then({ type: 'session.user.checked', data: { userId: USER, orgId: ORG, loginName: 'ada', checkedAt: now.toISOString() } });
  });

  it('keeps the session’s user: another user is refused, the same one is checked again', () => {
    const user = given(humanAdded()).state;
    givenSession(sessionAdded(), userChecked('200000000000000099'))
      .when((session) => decideUserCheck(session, user, { userId: USER, now }))
      .thenFails('InvalidArgument', 'SESSION-UsrChg');
    givenSession(sessionAdded(), userChecked())
      .when((session) => decideUserCheck(session, user, { userId: USER, now }))
      .then({ type: 'session.user.checked', data: { userId: USER, orgId: ORG, loginName: 'ada', checkedAt: now.toISOString() } });
  });
});
