import { describe, expect, it } from '@jest/globals';
import { CodeCipher } from '#crypto';
import { caller, given, humanAdded, ORG, OTHER_ORG, USER } from '#user/testing';
import { initialUserState } from '../user-state.js';
import { decideAddHumanUser, type AddHumanUserInput } from './add-human-user.js';

const cipher = new CodeCipher(Buffer.alloc(32, 4));
const code = { plain: 'ABC234', encrypted: cipher.encrypt('ABC234') };
const now = new Date('2026-01-01T10:00:00.000Z');
const admin = caller({ roles: [{ role: 'ORG_OWNER', orgId: ORG }] });
const input = (overrides: Partial<AddHumanUserInput> = {}): AddHumanUserInput => ({
  caller: admin,
  profile: { givenName: 'Ada', familyName: 'Lovelace', preferredLanguage: 'en' },
  email: 'ada@example.com',
  verification: { kind: 'return' },
  ...overrides,
});
const facts = (overrides = {}) => ({ userId: USER, orgId: ORG, orgExists: true, existing: initialUserState(), code, now, ...overrides });

describe('decideAddHumanUser', () => {
  it('adds the user with the email as username and a returned code', () => {
    const events = decideAddHumanUser(input(), facts());
    expect(events.map(({ type, data }) => ({ type, data }))).toEqual([
      {
        type: 'user.human.added',
        data: {
          username: 'ada@example.com',
          orgId: ORG,
          profile: { givenName: 'Ada', familyName: 'Lovelace', displayName: 'Ada Lovelace', preferredLanguage: 'en' },
          email: 'ada@example.com',
        },
      },
      { type: 'user.email.code.added', data: { code: code.encrypted, expiresAt: '2026-01-01T11:00:00.000Z', sendEmail: false } },
    ]);
  });

  it('takes a given username and a verified email', () => {
    const events = decideAddHumanUser(input({ username: 'ada', verification: { kind: 'verified' } }), facts());
    expect(events.map((e) => e.type)).toEqual(['user.human.added', 'user.email.verified']);
    expect(events[0]).toMatchObject({ data: { username: 'ada' } });
  });

  it('keeps a gender in the profile; an unspecified one leaves the field out of the event', () => {
    const withGender = decideAddHumanUser(input({ profile: { givenName: 'Ada', familyName: 'Lovelace', gender: 'female' } }), facts());
    expect(withGender[0]).toMatchObject({ data: { profile: { gender: 'female' } } });
    const without = decideAddHumanUser(input(), facts());
    expect(without[0]!.type === 'user.human.added' && 'gender' in without[0]!.data.profile).toBe(false);
  });

  it('refuses an unknown organization, a caller without user.write there, and a taken id', () => {
    expect(() => decideAddHumanUser(input(), facts({ orgExists: false }))).toThrow(expect.objectContaining({ kind: 'PermissionDenied', id: 'AUTH-Bs7Ds' }));
    expect(() => decideAddHumanUser(input(), facts({ orgId: OTHER_ORG }))).toThrow(expect.objectContaining({ kind: 'PermissionDenied', id: 'AUTH-AWfge' }));
    expect(() => decideAddHumanUser(input(), facts({ existing: given(humanAdded()).state }))).toThrow(
      expect.objectContaining({ kind: 'AlreadyExists', id: 'COMMAND-7yiox' }),
    );
  });

  it('refuses a malformed email and a profile without names', () => {
    expect(() => decideAddHumanUser(input({ email: 'nope' }), facts())).toThrow(expect.objectContaining({ id: 'EMAIL-599BI' }));
    expect(() => decideAddHumanUser(input({ profile: { givenName: ' ', familyName: 'X' } }), facts())).toThrow(
      expect.objectContaining({ kind: 'InvalidArgument', id: 'USER-UCej2' }),
    );
  });
});
