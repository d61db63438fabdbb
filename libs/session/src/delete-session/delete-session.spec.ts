import { describe, it } from '@jest/globals';
import { caller, ORG, OTHER_ORG, USER } from '#user/testing';
import { hashSessionToken } from '../session-token.js';
import { CREATOR, givenSession, sessionAdded, SESSION, terminated, tokenSet, userChecked } from '#session/testing';
import { decideTerminateSession, type DeleteSessionInput } from './delete-session.js';

const loginClient = caller({ roles: [{ role: 'IAM_LOGIN_CLIENT' }] });
const del = (who = loginClient, sessionToken?: string) => (session: Parameters<typeof decideTerminateSession>[0]) =>
  decideTerminateSession(session, { caller: who, sessionId: SESSION, ...(sessionToken ? { sessionToken } : {}) } as DeleteSessionInput).map(({ type, data }) => ({ type, data }));
const terminate = [{ type: 'session.terminated', data: {} }];

describe('decideTerminateSession', () => {
  it('terminates for a caller with session.write on the checked user’s organization or instance-wide', () => {
    givenSession(sessionAdded(), userChecked()).when(del()).then(terminate);
    givenSession(sessionAdded(), userChecked()).when(del(caller({ roles: [{ role: 'ORG_OWNER', orgId: ORG }] }))).then(terminate);
    givenSession(sessionAdded()).when(del(caller({ roles: [{ role: 'IAM_OWNER' }] }))).then(terminate);
  });

  it('terminates for the checked user themself, and for anyone with the current token', () => {
    givenSession(sessionAdded(), userChecked()).when(del(caller({ userId: USER, kind: 'human' }))).then(terminate);
    givenSession(sessionAdded(), userChecked(), tokenSet(hashSessionToken('tok-2'))).when(del(caller(), 'tok-2')).then(terminate);
  });

  it('refuses an old or wrong token (COMMAND-sGr42), even for a caller with the permission', () => {
    givenSession(sessionAdded(), userChecked(), tokenSet(hashSessionToken('tok-1')), tokenSet(hashSessionToken('tok-2'), 't2'))
      .when(del(loginClient, 'tok-1'))
      .thenFails('PermissionDenied', 'COMMAND-sGr42');
  });

  it('refuses other callers (AUTH-AWfge)', () => {
    givenSession(sessionAdded(), userChecked()).when(del(caller())).thenFails('PermissionDenied', 'AUTH-AWfge');
    givenSession(sessionAdded(), userChecked(USER, OTHER_ORG)).when(del(caller({ roles: [{ role: 'ORG_OWNER', orgId: ORG }] }))).thenFails('PermissionDenied', 'AUTH-AWfge');
    givenSession(sessionAdded(), userChecked()).when(del(caller({ userId: CREATOR }))).thenFails('PermissionDenied', 'AUTH-AWfge');
  });

  it('has nothing to do for a session that does not exist or is terminated (ZITADEL answers its details)', () => {
    givenSession().when(del(loginClient)).then([]);
    givenSession().when(del(caller(), 'tok-1')).thenFails('PermissionDenied', 'COMMAND-sGr42');
    givenSession(sessionAdded(), userChecked(), terminated()).when(del()).then([]);
  });
});
