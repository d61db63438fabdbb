import { describe, expect, it } from '@jest/globals';
import { CodeCipher } from '#crypto';
import { caller, emailVerified, given, humanAdded, machineAdded, ORG, USER } from '#user/testing';
import type { EmailVerification } from '../email-code.js';
import { decideSetEmail } from './set-email.js';
import { decideVerifyEmail } from '../verify-email/verify-email.js';
import { evolveUser } from '../user-state.js';
import type { UserEvent } from '../events.js';

const cipher = new CodeCipher(Buffer.alloc(32, 3));
const code = { plain: 'K3Y9ZQ', encrypted: cipher.encrypt('K3Y9ZQ') };
const now = new Date('2026-01-01T10:00:00.000Z');
const self = caller({ userId: USER, kind: 'human' });
const setEmail = (email: string, verification: EmailVerification, who = self) => (state: Parameters<typeof decideSetEmail>[0]) =>
  decideSetEmail(state, { userId: USER, email, verification, caller: who }, code, now);

describe('decideSetEmail', () => {
  it('changes the address and adds a code to send, valid one hour, encrypted', () => {
    const events = given(humanAdded())
      .when(setEmail('new@example.com', { kind: 'send', urlTemplate: 'https://app/verify?c={{.Code}}' }))
      .then([
        { type: 'user.email.changed', data: { email: 'new@example.com' } },
        {
          type: 'user.email.code.added',
          data: { code: code.encrypted, expiresAt: '2026-01-01T11:00:00.000Z', sendEmail: true, urlTemplate: 'https://app/verify?c={{.Code}}' },
        },
      ]);
    expect(JSON.stringify(events)).not.toContain(code.plain);
  });

  it('returns the code instead of sending it when asked', () => {
    given(humanAdded())
      .when(setEmail('new@example.com', { kind: 'return' }))
      .then([
        { type: 'user.email.changed', data: { email: 'new@example.com' } },
        { type: 'user.email.code.added', data: { code: code.encrypted, expiresAt: '2026-01-01T11:00:00.000Z', sendEmail: false } },
      ]);
  });

  it('marks the address verified at once when the caller says it is', () => {
    given(humanAdded())
      .when(setEmail('new@example.com', { kind: 'verified' }))
      .then([
        { type: 'user.email.changed', data: { email: 'new@example.com' } },
        { type: 'user.email.verified', data: { email: 'new@example.com' } },
      ]);
  });

  it('refuses the same address, verified or not (COMMAND-Uch5e, as ZITADEL)', () => {
    given(humanAdded()).when(setEmail('ada@example.com', { kind: 'return' })).thenFails('FailedPrecondition', 'COMMAND-Uch5e');
    given(humanAdded(), emailVerified()).when(setEmail('ada@example.com', { kind: 'return' })).thenFails('FailedPrecondition', 'COMMAND-Uch5e');
  });

  it('answers NotFound COMMAND-ieJ2e for a user that does not exist or is not a human, before the permission', () => {
    given().when(setEmail('a@b.co', { kind: 'return' }, caller())).thenFails('NotFound', 'COMMAND-ieJ2e');
    given(machineAdded()).when(setEmail('a@b.co', { kind: 'return' }, caller())).thenFails('NotFound', 'COMMAND-ieJ2e');
  });

  it('refuses a malformed address and a caller without user.write', () => {
    given(humanAdded()).when(setEmail('not-an-email', { kind: 'return' })).thenFails('InvalidArgument', 'EMAIL-599BI');
    given(humanAdded()).when(setEmail('a@b.co', { kind: 'return' }, caller())).thenFails('PermissionDenied', 'AUTH-AWfge');
    given(humanAdded()).when(setEmail('a@b.co', { kind: 'return' }, caller({ roles: [{ role: 'ORG_USER_MANAGER', orgId: ORG }] }))).then([
      { type: 'user.email.changed', data: { email: 'a@b.co' } },
      { type: 'user.email.code.added', data: { code: code.encrypted, expiresAt: '2026-01-01T11:00:00.000Z', sendEmail: false } },
    ]);
  });
});

describe('decideVerifyEmail', () => {
  const withCode = (): UserEvent[] => [
    humanAdded(),
    { type: 'user.email.changed', data: { email: 'new@example.com' } },
    { type: 'user.email.code.added', data: { code: code.encrypted, expiresAt: '2026-01-01T11:00:00.000Z', sendEmail: false } },
  ];
  const decide = (state: Parameters<typeof decideVerifyEmail>[0], given: string, at = now, by = self) =>
    decideVerifyEmail(state, { userId: USER, code: given, caller: by }, (v) => cipher.decrypt(v), at);
  // A refusal that writes (a wrong code) is thrown here after its events were checked below.
  const verify = (given: string, at = now, by = self) => (state: Parameters<typeof decideVerifyEmail>[0]) => {
    const { events, result } = decide(state, given, at, by);
    if (result) throw result;
    return events;
  };
  const wrong: UserEvent = { type: 'user.email.verification.failed', data: {} };

  it('checks no permission: the code is the proof (ZITADEL), for any caller, of any organization', () => {
    const stranger = caller({ orgId: 'elsewhere', roles: [] });
    given(...withCode()).when(verify('K3Y9ZQ', now, stranger)).then([{ type: 'user.email.verified', data: { email: 'new@example.com' } }]);
    given().when(verify('K3Y9ZQ', now, stranger)).thenFails('NotFound', 'COMMAND-ieJ2e');
  });

  it('writes a wrong code down and refuses it; after five the code is void until a new one', () => {
    const state = given(...withCode()).state;
    expect(decide(state, 'K3Y9ZX')).toMatchObject({ events: [{ type: 'user.email.verification.failed', data: {} }], result: { id: 'COMMAND-eis9R' } });
    given(...withCode(), wrong, wrong, wrong, wrong).when(verify('K3Y9ZQ')).then([{ type: 'user.email.verified', data: { email: 'new@example.com' } }]);
    given(...withCode(), wrong, wrong, wrong, wrong, wrong).when(verify('K3Y9ZQ')).thenFails('InvalidArgument', 'COMMAND-eis9R');
    const renewed: UserEvent = { type: 'user.email.code.added', data: { code: code.encrypted, expiresAt: '2026-01-01T11:00:00.000Z', sendEmail: false } };
    given(...withCode(), wrong, wrong, wrong, wrong, wrong, renewed).when(verify('K3Y9ZQ')).then([{ type: 'user.email.verified', data: { email: 'new@example.com' } }]);
  });

  it('verifies the current address with the right code', () => {
    given(...withCode()).when(verify('K3Y9ZQ')).then([{ type: 'user.email.verified', data: { email: 'new@example.com' } }]);
  });

  it('refuses a wrong code, an expired code and no pending code alike (COMMAND-eis9R), an empty code (COMMAND-Fia4a)', () => {
    given(...withCode()).when(verify('K3Y9ZX')).thenFails('InvalidArgument', 'COMMAND-eis9R');
    given(...withCode()).when(verify('K3Y9ZQ', new Date('2026-01-01T11:00:00.000Z'))).thenFails('InvalidArgument', 'COMMAND-eis9R');
    given(humanAdded()).when(verify('K3Y9ZQ')).thenFails('InvalidArgument', 'COMMAND-eis9R');
    given(...withCode()).when(verify('')).thenFails('InvalidArgument', 'COMMAND-Fia4a');
    given().when(verify('K3Y9ZQ')).thenFails('NotFound', 'COMMAND-ieJ2e');
  });

  it('uses a code once: after verification it is gone', () => {
    const verified: UserEvent = { type: 'user.email.verified', data: { email: 'new@example.com' } };
    const state = [...withCode(), verified].reduce(
      (s, e) => evolveUser(s, e),
      given().state,
    );
    expect(state.emailCode).toBeUndefined();
    expect(() => decide(state, 'K3Y9ZQ')).toThrow(
      expect.objectContaining({ id: 'COMMAND-eis9R' }),
    );
  });
});
