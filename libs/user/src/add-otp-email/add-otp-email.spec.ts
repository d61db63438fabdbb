import { describe, expect, it } from '@jest/globals';
import {
  caller,
  emailChanged,
  emailVerified,
  given,
  humanAdded,
  machineAdded,
  ORG,
  OTHER_ORG,
  otpEmailAdded,
  otpEmailRemoved,
  USER,
  withoutPersonalData,
} from '#user/testing';
import { decideAddOtpEmail } from './add-otp-email.js';

const self = caller({ userId: USER, kind: 'human' });
const manager = caller({ roles: [{ role: 'ORG_OWNER', orgId: ORG }] });
const add = (who = self) => (state: Parameters<typeof decideAddOtpEmail>[0]) => decideAddOtpEmail(state, { userId: USER, caller: who });
const added = [{ type: 'user.otp.email.added', data: {} }];

describe('decideAddOtpEmail', () => {
  it('adds the factor for oneself once the email is verified', () => {
    given(humanAdded(), emailVerified()).when(add()).then(added);
  });

  it('adds it for a caller with user.credential.write on the user’s organization', () => {
    given(humanAdded(), emailVerified()).when(add(manager)).then(added);
    given(humanAdded(), emailVerified()).when(add(caller({ roles: [{ role: 'IAM_OWNER' }] }))).then(added);
  });

  it('refuses a caller without the permission on the user’s organization', () => {
    given(humanAdded(), emailVerified()).when(add(caller())).thenFails('PermissionDenied', 'AUTH-AWfge');
    given(humanAdded(OTHER_ORG), emailVerified()).when(add(manager)).thenFails('PermissionDenied', 'AUTH-AWfge');
    // ZITADEL's ORG_USER_MANAGER manages users but not their credentials; its login client may.
    given(humanAdded(), emailVerified())
      .when(add(caller({ roles: [{ role: 'ORG_USER_MANAGER', orgId: ORG }] })))
      .thenFails('PermissionDenied', 'AUTH-AWfge');
    given(humanAdded(), emailVerified()).when(add(caller({ roles: [{ role: 'IAM_LOGIN_CLIENT' }] }))).then([{ type: 'user.otp.email.added', data: {} }]);
  });

  it('answers NotFound for an unknown user before looking at permissions', () => {
    given().when(add(manager)).thenFails('NotFound', 'COMMAND-4g3xq');
    given().when(add(caller())).thenFails('NotFound', 'COMMAND-4g3xq');
  });

  it('refuses a second OTP Email', () => {
    given(humanAdded(), emailVerified(), otpEmailAdded()).when(add()).thenFails('AlreadyExists', 'COMMAND-MKL2s');
  });

  it('checks "already added" before "email verified", as ZITADEL does', () => {
    given(humanAdded(), emailVerified(), otpEmailAdded(), emailChanged('new@example.com'))
      .when(add())
      .thenFails('AlreadyExists', 'COMMAND-MKL2s');
  });

  it('refuses a user whose email was never verified, and a machine user', () => {
    given(humanAdded()).when(add()).thenFails('FailedPrecondition', 'COMMAND-KLJ2d');
    given(machineAdded()).when(add(manager)).thenFails('FailedPrecondition', 'COMMAND-KLJ2d');
  });

  it('keeps "email verified" after the address changes (ZITADEL does not reduce email.changed here)', () => {
    given(humanAdded(), emailVerified(), emailChanged('new@example.com')).when(add()).then(added);
  });

  it('adds it again after a removal', () => {
    given(humanAdded(), emailVerified(), otpEmailAdded(), otpEmailRemoved()).when(add()).then(added);
  });

  it('decides the same without the personal data (the handler reads the stream with it sealed)', () => {
    given(...withoutPersonalData(humanAdded(), emailVerified())).when(add()).then(added);
    given(...withoutPersonalData(humanAdded(), emailVerified())).when(add(manager)).then(added);
    given(...withoutPersonalData(humanAdded(OTHER_ORG), emailVerified())).when(add(manager)).thenFails('PermissionDenied', 'AUTH-AWfge');
    given(...withoutPersonalData(humanAdded(), emailVerified(), otpEmailAdded())).when(add()).thenFails('AlreadyExists', 'COMMAND-MKL2s');
    given(...withoutPersonalData(humanAdded(), emailVerified(), emailChanged('new@example.com'))).when(add()).then(added);
    given(...withoutPersonalData(humanAdded())).when(add()).thenFails('FailedPrecondition', 'COMMAND-KLJ2d');
  });

  it('writes the instance, the user’s organization, the editor and a correlation id as metadata', () => {
    const [event] = given(humanAdded(), emailVerified())
      .when((state) => decideAddOtpEmail(state, { userId: USER, caller: manager, correlationId: 'corr-1' }))
      .then(added);
    expect(event!.metadata).toEqual({ instanceId: 'instance-1', resourceOwner: ORG, editor: manager.userId, correlationId: 'corr-1' });
  });
});
