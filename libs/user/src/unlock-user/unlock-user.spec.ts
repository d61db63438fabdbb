import { describe, expect, it } from '@jest/globals';
import type { UserEvent } from '../events.js';
import { caller, emailVerified, given, humanAdded, ORG, OTHER_ORG, USER, withoutPersonalData } from '#user/testing';
import { decideUnlockUser } from './unlock-user.js';

const manager = caller({ roles: [{ role: 'ORG_USER_MANAGER', orgId: ORG }] });
const unlock = (who = manager) => (state: Parameters<typeof decideUnlockUser>[0]) => decideUnlockUser(state, { userId: USER, caller: who });
const locked = (): UserEvent => ({ type: 'user.locked', data: { reason: 'otp.email.check.failed' } });
const failed = (): UserEvent => ({ type: 'user.otp.email.check.failed', data: { sessionId: 's1' } });
const unlocked = [{ type: 'user.unlocked', data: {} }];

describe('decideUnlockUser', () => {
  it('unlocks a locked user for a caller with user.write on the user’s organization', () => {
    given(humanAdded(), emailVerified(), locked()).when(unlock()).then(unlocked);
    given(humanAdded(), locked()).when(unlock(caller({ roles: [{ role: 'IAM_OWNER' }] }))).then(unlocked);
    given(humanAdded(), locked()).when(unlock(caller({ roles: [{ role: 'ORG_OWNER', orgId: ORG }] }))).then(unlocked);
  });

  it('resets the failure count with the unlock', () => {
    const { state } = given(humanAdded(), failed(), failed(), locked(), { type: 'user.unlocked', data: {} });
    expect(state.locked).toBe(false);
    expect(state.otpEmailFailedChecks).toBe(0);
  });

  it("lets the locked user unlock themself (as ZITADEL's checkPermissionUpdateUser), refuses callers without user.write there", () => {
    given(humanAdded(), locked()).when(unlock(caller({ userId: USER, kind: 'human', roles: [] }))).then(unlocked);
    given(humanAdded(OTHER_ORG), locked()).when(unlock()).thenFails('PermissionDenied', 'AUTH-AWfge');
    given(humanAdded(), locked())
      .when(unlock(caller({ roles: [{ role: 'ORG_OWNER_VIEWER', orgId: ORG }] })))
      .thenFails('PermissionDenied', 'AUTH-AWfge');
  });

  it('decides the same without the personal data (the handler reads the stream with it sealed)', () => {
    given(...withoutPersonalData(humanAdded(), emailVerified(), locked())).when(unlock()).then(unlocked);
    given(...withoutPersonalData(humanAdded(OTHER_ORG), locked())).when(unlock()).thenFails('PermissionDenied', 'AUTH-AWfge');
    given(...withoutPersonalData(humanAdded())).when(unlock()).thenFails('FailedPrecondition', 'COMMAND-olb9vb0oca');
  });

  it('answers NotFound for an unknown user, FailedPrecondition for a user that is not locked', () => {
    given().when(unlock()).thenFails('NotFound', 'COMMAND-x377t913pw');
    given(humanAdded()).when(unlock()).thenFails('FailedPrecondition', 'COMMAND-olb9vb0oca');
    given(humanAdded(), locked(), { type: 'user.unlocked', data: {} }).when(unlock()).thenFails('FailedPrecondition', 'COMMAND-olb9vb0oca');
  });

  it('checks the state before the permission, as ZITADEL: NotFound, then NotLocked, then PermissionDenied', () => {
    given(humanAdded(OTHER_ORG)).when(unlock()).thenFails('FailedPrecondition', 'COMMAND-olb9vb0oca');
    given(humanAdded(OTHER_ORG), locked()).when(unlock()).thenFails('PermissionDenied', 'AUTH-AWfge');
  });
});
