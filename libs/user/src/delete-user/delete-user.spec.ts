import { describe, expect, it } from '@jest/globals';
import type { UserEvent } from '../events.js';
import { caller, emailVerified, given, humanAdded, machineAdded, ORG, OTHER_ORG, otpEmailAdded, USER } from '#user/testing';
import { decideAddOtpEmail } from '../add-otp-email/add-otp-email.js';
import { decideUnlockUser } from '../unlock-user/unlock-user.js';
import { decideDeleteUser } from './delete-user.js';

const manager = caller({ roles: [{ role: 'ORG_USER_MANAGER', orgId: ORG }] });
const self = caller({ userId: USER, kind: 'human' });
const remove = (who = manager) => (state: Parameters<typeof decideDeleteUser>[0]) => decideDeleteUser(state, { userId: USER, caller: who });
const removedEvent: UserEvent = { type: 'user.removed', data: {} };
const removed = [removedEvent];

describe('decideDeleteUser', () => {
  it('removes a human or machine user for a caller with user.delete on its organization', () => {
    given(humanAdded(), emailVerified()).when(remove()).then(removed);
    given(machineAdded()).when(remove()).then(removed);
    given(humanAdded()).when(remove(caller({ roles: [{ role: 'IAM_OWNER' }] }))).then(removed);
  });

  it('lets a user delete themself, as ZITADEL’s checkPermissionDeleteUser', () => {
    given(humanAdded(OTHER_ORG)).when(remove(self)).then(removed);
  });

  it('refuses callers without user.delete on the user’s organization', () => {
    given(humanAdded(OTHER_ORG)).when(remove()).thenFails('PermissionDenied', 'AUTH-AWfge');
    given(humanAdded()).when(remove(caller({ roles: [{ role: 'ORG_OWNER_VIEWER', orgId: ORG }] }))).thenFails('PermissionDenied', 'AUTH-AWfge');
    given(humanAdded()).when(remove(caller({ roles: [{ role: 'IAM_LOGIN_CLIENT' }] }))).thenFails('PermissionDenied', 'AUTH-AWfge');
  });

  it('answers NotFound for an unknown or already deleted user, before the permission', () => {
    given().when(remove()).thenFails('NotFound', 'COMMAND-bd4ir1mblj');
    given(humanAdded(), removedEvent).when(remove()).thenFails('NotFound', 'COMMAND-bd4ir1mblj');
    given(humanAdded(OTHER_ORG), removedEvent).when(remove(self)).thenFails('NotFound', 'COMMAND-bd4ir1mblj');
    given().when(remove(caller())).thenFails('NotFound', 'COMMAND-bd4ir1mblj');
  });

  it('forgets everything personal in the fold and keeps only the organization', () => {
    const { state } = given(humanAdded(), emailVerified(), otpEmailAdded(), removedEvent);
    expect(state).toMatchObject({ exists: false, removed: true, orgId: ORG, version: 4, otpEmailAdded: false, pats: {}, roles: [] });
    expect(JSON.stringify(state)).not.toMatch(/ada|lovelace/i);
  });

  it('makes every other command on the deleted user answer NotFound, the user itself included', () => {
    given(humanAdded(), emailVerified(), removedEvent)
      .when((state) => decideAddOtpEmail(state, { userId: USER, caller: self }))
      .thenFails('NotFound', 'COMMAND-4g3xq');
    given(humanAdded(), { type: 'user.locked', data: {} }, removedEvent)
      .when((state) => decideUnlockUser(state, { userId: USER, caller: manager }))
      .thenFails('NotFound', 'COMMAND-x377t913pw');
  });
});
