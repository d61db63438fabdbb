import { describe, it } from '@jest/globals';
import { CodeCipher } from '#crypto';
import { caller, given, humanAdded, USER } from '#user/testing';
import type { UserEvent } from '../events.js';
import { decideVerifyEmail } from './verify-email.js';

// A pending code sealed under a key the server no longer has is the caller's cue to ask for a
// new code (FailedPrecondition), not a server failure; under a key it still has, it verifies.
describe('decideVerifyEmail across a key rotation', () => {
  const oldKey = { id: 'old', key: Buffer.alloc(32, 11) };
  const newKey = { id: 'new', key: Buffer.alloc(32, 12) };
  const now = new Date('2026-01-01T10:00:00.000Z');
  const self = caller({ userId: USER, kind: 'human' });
  const pending = (sealer: CodeCipher): UserEvent[] => [
    humanAdded(),
    { type: 'user.email.changed', data: { email: 'new@example.com' } },
    { type: 'user.email.code.added', data: { code: sealer.encrypt('K3Y9ZQ'), expiresAt: '2026-01-01T11:00:00.000Z', sendEmail: false } },
  ];
  const verifyWith = (opener: CodeCipher) => (state: Parameters<typeof decideVerifyEmail>[0]) =>
    decideVerifyEmail(state, { userId: USER, code: 'K3Y9ZQ', caller: self }, (v) => opener.decrypt(v), now).events;

  it('verifies a code sealed under the old key while the old key is still configured', () => {
    given(...pending(new CodeCipher([oldKey], 'old')))
      .when(verifyWith(new CodeCipher([oldKey, newKey], 'new')))
      .then([{ type: 'user.email.verified', data: { email: 'new@example.com' } }]);
  });

  it('answers FailedPrecondition CRYPTO-K3yUn once the old key is removed', () => {
    given(...pending(new CodeCipher([oldKey], 'old')))
      .when(verifyWith(new CodeCipher([newKey], 'new')))
      .thenFails('FailedPrecondition', 'CRYPTO-K3yUn');
  });
});
