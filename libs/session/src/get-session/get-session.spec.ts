import { describe, expect, it } from '@jest/globals';
import { authorizeSessionRead, authorizeSessionWrite, authorizeSessionCreate } from '../authorize.js';
import { caller, emailVerified, given, humanAdded, ORG, OTHER_ORG, USER } from '#user/testing';
import { hashSessionToken } from '../session-token.js';
import { CREATOR, givenSession, otpEmailChallenged, otpEmailChecked, sessionAdded, tokenSet, userChecked } from '#session/testing';
import { outcome } from '#test-kit';
import { sessionView } from './get-session.js';

describe('sessionView', () => {
  it('shows the factors, with the user’s current display name', () => {
    const { state } = givenSession(sessionAdded(), userChecked(), otpEmailChallenged(), otpEmailChecked('2026-01-01T00:01:00.000Z'));
    expect(sessionView('s1', state, given(humanAdded(), emailVerified()).state)).toEqual({
      id: 's1',
      creationDate: new Date(Date.UTC(2026, 0, 1, 0, 0, 0)),
      changeDate: new Date(Date.UTC(2026, 0, 1, 0, 0, 3)),
      sequence: 4,
      factors: {
        user: { verifiedAt: new Date('2026-01-01T00:00:00.000Z'), id: USER, loginName: 'ada', displayName: 'Ada Lovelace', organizationId: ORG },
        otpEmail: { verifiedAt: new Date('2026-01-01T00:01:00.000Z') },
      },
      metadata: {},
    });
  });

  it('shows the metadata as raw values', () => {
    const { state } = givenSession(sessionAdded(), { type: 'session.metadata.set', data: { metadata: { lang: Buffer.from('de').toString('base64') } } });
    expect(sessionView('s1', state, undefined).metadata).toEqual({ lang: new Uint8Array(Buffer.from('de')) });
  });

  it('shows no factors before the user check', () => {
    expect(sessionView('s1', givenSession(sessionAdded()).state, undefined).factors).toEqual({});
  });
});

describe('session permissions', () => {
  const session = givenSession(sessionAdded(), userChecked(), tokenSet(hashSessionToken('tok'))).state;
  const bare = givenSession(sessionAdded()).state;

  it('CreateSession needs session.write on the instance', () => {
    outcome(() => authorizeSessionCreate(caller({ roles: [{ role: 'IAM_LOGIN_CLIENT' }] }))).then(undefined);
    outcome(() => authorizeSessionCreate(caller({ roles: [{ role: 'ORG_OWNER', orgId: ORG }] }))).thenFails('PermissionDenied', 'AUTH-AWfge');
  });

  it('SetSession needs session.write (ZITADEL grants it to IAM_OWNER and IAM_LOGIN_CLIENT, no organization role)', () => {
    outcome(() => authorizeSessionWrite(caller({ roles: [{ role: 'IAM_LOGIN_CLIENT' }] }), session)).then(undefined);
    outcome(() => authorizeSessionWrite(caller({ roles: [{ role: 'IAM_LOGIN_CLIENT' }] }), bare)).then(undefined);
    outcome(() => authorizeSessionWrite(caller({ roles: [{ role: 'ORG_OWNER', orgId: ORG }] }), session)).thenFails('PermissionDenied', 'AUTH-AWfge');
    outcome(() => authorizeSessionWrite(caller({ roles: [{ role: 'IAM_OWNER_VIEWER' }] }), bare)).thenFails('PermissionDenied', 'AUTH-AWfge');
    outcome(() => authorizeSessionWrite(caller({ roles: [{ role: 'ORG_USER_MANAGER', orgId: ORG }] }), session)).thenFails('PermissionDenied', 'AUTH-AWfge');
    outcome(() => authorizeSessionWrite(caller({ userId: USER }), session)).thenFails('PermissionDenied', 'AUTH-AWfge');
  });

  it('GetSession: session.read, the creator, the checked user, or the current token', () => {
    outcome(() => authorizeSessionRead(caller({ roles: [{ role: 'IAM_LOGIN_CLIENT' }] }), session)).then(undefined);
    outcome(() => authorizeSessionRead(caller({ roles: [{ role: 'ORG_OWNER', orgId: ORG }] }), session)).then(undefined);
    outcome(() => authorizeSessionRead(caller({ userId: CREATOR }), session)).then(undefined);
    outcome(() => authorizeSessionRead(caller({ userId: USER }), session)).then(undefined);
    outcome(() => authorizeSessionRead(caller({ userId: 'someone' }), session, 'tok')).then(undefined);
    outcome(() => authorizeSessionRead(caller({ userId: 'someone' }), session)).thenFails('PermissionDenied', 'AUTH-AWfge');
    outcome(() => authorizeSessionRead(caller({ roles: [{ role: 'IAM_OWNER' }] }), session, 'old')).thenFails('PermissionDenied', 'QUERY-dsfr3');
  });
});
