import { describe, it } from '@jest/globals';
import { caller, emailVerified, given, humanAdded, ORG, otpEmailAdded, otpEmailRemoved, USER, withoutPersonalData } from '#user/testing';
import { decideRemoveOtpEmail } from './remove-otp-email.js';

const self = caller({ userId: USER, kind: 'human' });
const remove = (who = self) => (state: Parameters<typeof decideRemoveOtpEmail>[0]) =>
  decideRemoveOtpEmail(state, { userId: USER, caller: who });
const removed = [{ type: 'user.otp.email.removed', data: {} }];

describe('decideRemoveOtpEmail', () => {
  it('removes the factor for oneself', () => {
    given(humanAdded(), emailVerified(), otpEmailAdded()).when(remove()).then(removed);
  });

  it('needs user.write when not self (an ORG_USER_MANAGER has it, an ORG_OWNER_VIEWER does not)', () => {
    given(humanAdded(), emailVerified(), otpEmailAdded())
      .when(remove(caller({ roles: [{ role: 'ORG_USER_MANAGER', orgId: ORG }] })))
      .then(removed);
    given(humanAdded(), emailVerified(), otpEmailAdded())
      .when(remove(caller({ roles: [{ role: 'ORG_OWNER_VIEWER', orgId: ORG }] })))
      .thenFails('PermissionDenied', 'AUTH-AWfge');
  });

  it('decides the same without the personal data (the handler reads the stream with it sealed)', () => {
    given(...withoutPersonalData(humanAdded(), emailVerified(), otpEmailAdded())).when(remove()).then(removed);
    given(...withoutPersonalData(humanAdded(), emailVerified(), otpEmailAdded()))
      .when(remove(caller({ roles: [{ role: 'ORG_USER_MANAGER', orgId: ORG }] })))
      .then(removed);
    given(...withoutPersonalData(humanAdded(), emailVerified())).when(remove()).thenFails('NotFound', 'COMMAND-b312D');
  });

  it('answers NotFound for an unknown user', () => {
    given().when(remove(caller({ roles: [{ role: 'IAM_OWNER' }] }))).thenFails('NotFound', 'COMMAND-4g3xq');
  });

  it('answers NotFound when the factor is not there', () => {
    given(humanAdded(), emailVerified()).when(remove()).thenFails('NotFound', 'COMMAND-b312D');
    given(humanAdded(), emailVerified(), otpEmailAdded(), otpEmailRemoved()).when(remove()).thenFails('NotFound', 'COMMAND-b312D');
  });
});
