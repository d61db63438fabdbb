import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import type { Caller } from '#access';
import { serverDatabaseUrl } from '#database/testing';
import type { RecordedEvent } from '#eventstore';
import { UnlockUserCommand } from '#user';
import { CreateSessionCommand } from './create-session/create-session.js';
import { DeleteSessionCommand } from './delete-session/delete-session.js';
import { GetSessionQuery } from './get-session/get-session.js';
import type { SessionChangeResult, SessionChanges } from './session-changes.js';
import { SetSessionCommand } from './set-session/set-session.js';
import { callerWith, startSessionTestApp, type SessionTestApp } from '#session/testing';

const ORG = '100000000000000001';
const OTHER_ORG = '100000000000000002';
const MINUTE = 60_000;
const loginClient = callerWith([{ role: 'IAM_LOGIN_CLIENT' }], '900000000000000010');
const admin = callerWith([{ role: 'ORG_USER_MANAGER', orgId: ORG }], '900000000000000011');

const byKindAndId = (kind: string, id: string) => expect.objectContaining({ name: 'DomainError', kind, id });

describe.each(serverDatabaseUrl ? (['pglite', 'server'] as const) : (['pglite'] as const))('SessionService handlers (%s)', (kind) => {
  let app: SessionTestApp;
  let userNo = 0;
  /** Every code and token handed out, to look for in the store at the end. */
  const secrets = new Set<string>();

  beforeAll(async () => {
    app = await startSessionTestApp(kind);
  });
  afterAll(async () => {
    await app?.close();
  });

  async function seedUser(options: { otp?: boolean; orgId?: string } = {}) {
    const no = ++userNo;
    const userId = `2000000000000${String(no).padStart(5, '0')}`;
    const username = `ada${no}@${kind}.example`;
    const metadata = { instanceId: 'instance-1', resourceOwner: options.orgId ?? ORG, editor: 'system', correlationId: `seed-${no}` };
    await app.store.append(`username-${username}`, [{ type: 'username.claimed', data: { userId, username }, metadata }], 'no_stream');
    await app.store.append(
      `user-${userId}`,
      [
        {
          type: 'user.human.added',
          data: {
            username,
            orgId: options.orgId ?? ORG,
            profile: { givenName: 'Ada', familyName: `Lovelace${no}`, displayName: `Ada Lovelace ${no}`, preferredLanguage: 'en' },
            email: `ada${no}@example.com`,
          },
          metadata,
        },
        { type: 'user.email.verified', data: { email: `ada${no}@example.com` }, metadata },
        ...(options.otp === false ? [] : [{ type: 'user.otp.email.added', data: {}, metadata }]),
      ],
      'no_stream',
    );
    return { userId, username };
  }

  const remember = (result: SessionChangeResult) => {
    if (result.sessionToken) secrets.add(result.sessionToken);
    if (result.challenges?.otpEmail) secrets.add(result.challenges.otpEmail);
    return result;
  };
  const create = async (changes: SessionChanges, caller: Caller = loginClient) =>
    remember(await app.commands.execute(new CreateSessionCommand({ caller, changes })));
  const set = async (sessionId: string, changes: SessionChanges, caller: Caller = loginClient) =>
    remember(await app.commands.execute(new SetSessionCommand({ caller, sessionId, changes })));
  const get = (sessionId: string, caller: Caller = loginClient, sessionToken?: string) =>
    app.queries.execute(new GetSessionQuery({ caller, sessionId, ...(sessionToken ? { sessionToken } : {}) }));
  const events = (stream: string) => app.store.readStream(stream);
  const types = async (stream: string) => (await events(stream)).map((e) => e.type);

  /** The plain code of the session's current challenge, as the notifier would decrypt it. */
  async function currentCode(sessionId: string): Promise<string> {
    const challenged = (await events(`session-${sessionId}`)).filter((e) => e.type === 'session.otp.email.challenged').pop()!;
    const code = app.cipher.decrypt(challenged.data.code as { keyId: string; crypted: string });
    secrets.add(code);
    return code;
  }
  const wrongCode = (code: string) => (code === '00000000' ? '11111111' : '00000000');

  /** A session with a checked user and a returnCode challenge. */
  async function challengedSession(options: { otp?: boolean } = {}) {
    const user = await seedUser(options);
    const created = await create({ checks: { user: { userId: user.userId } }, challenges: { otpEmail: { kind: 'return' } } });
    return { ...user, sessionId: created.sessionId, code: created.challenges!.otpEmail!, created };
  }

  async function expectNothingWritten(action: () => Promise<unknown>, kind: string, id: string) {
    const head = await app.store.headPosition();
    await expect(action()).rejects.toEqual(byKindAndId(kind, id));
    expect(await app.store.headPosition()).toBe(head);
  }

  describe('CreateSession and SetSession', () => {
    it('checks a user by login name, returns the code, and stores only the token’s hash', async () => {
      const user = await seedUser();
      const result = await create({ checks: { user: { loginName: user.username.toUpperCase() } }, challenges: { otpEmail: { kind: 'return' } } });
      expect(result.sessionId).toMatch(/^\d{18,19}$/);
      expect(result.sessionToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(result.challenges?.otpEmail).toMatch(/^\d{8}$/);
      const stored = await events(`session-${result.sessionId}`);
      expect(stored.map((e) => e.type)).toEqual(['session.added', 'session.user.checked', 'session.otp.email.challenged', 'session.token.set']);
      expect(stored[1]!.data).toEqual({ userId: user.userId, orgId: ORG, loginName: user.username, checkedAt: '2026-03-01T09:00:00.000Z' });
      expect(stored[2]!.data).toMatchObject({ userId: user.userId, expiresAt: '2026-03-01T09:05:00.000Z', returnCode: true });
      expect(stored[3]!.data.hash).toBe(createHash('sha256').update(result.sessionToken).digest('hex'));
      expect(stored[3]!.metadata).toMatchObject({ instanceId: 'instance-1', resourceOwner: ORG, editor: loginClient.userId });
      // The answer's resource owner is the instance (ZITADEL's session aggregate); the events keep the organization.
      expect(result.details).toEqual({ sequence: 4, changeDate: stored[3]!.createdAt, resourceOwner: 'instance-1' });
      // returnCode: nothing counted on the user stream.
      expect(await types(`user-${user.userId}`)).not.toContain('user.otp.email.challenge.sent');
    });

    it('verifies the factor with the right code, once, with a new token every time', async () => {
      const s = await challengedSession();
      const checked = await set(s.sessionId, { checks: { otpEmail: { code: s.code } } });
      expect(checked.sessionToken).not.toBe(s.created.sessionToken);
      expect(checked.challenges).toBeUndefined();
      const view = await get(s.sessionId);
      expect(view.factors.otpEmail).toEqual({ verifiedAt: new Date('2026-03-01T09:00:00.000Z') });
      expect(view.factors.user).toMatchObject({ id: s.userId, loginName: s.username, displayName: expect.stringMatching(/^Ada Lovelace/), organizationId: ORG });
      expect(view.sequence).toBe(checked.details.sequence);
      expect(await types(`user-${s.userId}`)).toContain('user.otp.email.check.succeeded');
      // A code works once.
      await expectNothingWritten(() => set(s.sessionId, { checks: { otpEmail: { code: s.code } } }), 'FailedPrecondition', 'COMMAND-S34gh');
    });

    it('sends by email (default link or template) and counts it on the user stream', async () => {
      const user = await seedUser();
      const created = await create({ checks: { user: { userId: user.userId } }, challenges: { otpEmail: { kind: 'send' } } });
      expect(created.challenges).toBeUndefined();
      await set(created.sessionId, { challenges: { otpEmail: { kind: 'send', urlTemplate: 'https://app.example/otp?c={{.Code}}&s={{ .SessionID }}' } } });
      const userEvents = (await events(`user-${user.userId}`)).filter((e) => e.type === 'user.otp.email.challenge.sent');
      expect(userEvents.map((e) => e.data)).toEqual([
        { sessionId: created.sessionId, at: '2026-03-01T09:00:00.000Z' },
        { sessionId: created.sessionId, at: '2026-03-01T09:00:00.000Z' },
      ]);
      const challenged = (await events(`session-${created.sessionId}`)).filter((e) => e.type === 'session.otp.email.challenged');
      expect(challenged.map((e) => e.data.urlTemplate)).toEqual([undefined, 'https://app.example/otp?c={{.Code}}&s={{ .SessionID }}']);
      expect(challenged.every((e) => e.data.returnCode === false)).toBe(true);
      // The newer challenge replaced the older one.
      await set(created.sessionId, { checks: { otpEmail: { code: await currentCode(created.sessionId) } } });
    });

    it('refuses bad URL templates before anything is read or written', async () => {
      const s = await challengedSession();
      await expectNothingWritten(
        () => set(s.sessionId, { challenges: { otpEmail: { kind: 'send', urlTemplate: 'https://app/{{.Code' } } }),
        'InvalidArgument',
        'DOMAIN-oGh5e',
      );
      await expectNothingWritten(
        () => create({ checks: { user: { userId: s.userId } }, challenges: { otpEmail: { kind: 'send', urlTemplate: 'https://app/{{.Secret}}' } } }),
        'InvalidArgument',
        'DOMAIN-ieYa7',
      );
      await expectNothingWritten(
        () => set('no-such-session', { challenges: { otpEmail: { kind: 'send', urlTemplate: '{{ .Code | urlquery }}' } } }),
        'InvalidArgument',
        'DOMAIN-oGh5e',
      );
    });

    it('writes nothing, not even the send count, when the session’s events could not be stored', async () => {
      const s = await challengedSession();
      const head = await app.store.headPosition();
      const nul = { kind: 'send', urlTemplate: 'https://app/?c={{.Code}}\u0000' } as const;
      await expect(create({ checks: { user: { userId: s.userId } }, challenges: { otpEmail: nul } })).rejects.toThrow(/NUL/);
      await expect(set(s.sessionId, { challenges: { otpEmail: nul } })).rejects.toThrow(/NUL/);
      expect(await app.store.headPosition()).toBe(head);
      expect(await types(`user-${s.userId}`)).not.toContain('user.otp.email.challenge.sent');
    });

    it('refuses a bad lifetime before a send is counted', async () => {
      const s = await challengedSession();
      await expectNothingWritten(
        () => set(s.sessionId, { challenges: { otpEmail: { kind: 'send' } }, lifetimeMs: -1 }),
        'InvalidArgument',
        'SESSION-Lft0',
      );
    });

    it('answers every refusal with its kind and id, writing nothing', async () => {
      const user = await seedUser();
      const noFactor = await seedUser({ otp: false });
      const orgOwner = callerWith([{ role: 'ORG_OWNER', orgId: ORG }]);
      await expectNothingWritten(() => create({ checks: { user: { userId: user.userId } } }, orgOwner), 'PermissionDenied', 'AUTH-AWfge');
      await expectNothingWritten(() => create({ checks: { user: { userId: '404' } } }), 'NotFound', 'SESSION-UsrNf');
      await expectNothingWritten(() => create({ checks: { user: { loginName: 'nobody@example' } } }), 'NotFound', 'SESSION-UsrNf');
      await expectNothingWritten(() => create({ challenges: { otpEmail: { kind: 'send' } } }), 'FailedPrecondition', 'COMMAND-JK3gp');
      await expectNothingWritten(() => create({ checks: { otpEmail: { code: '12345678' } } }), 'InvalidArgument', 'COMMAND-S453v');
      await expectNothingWritten(
        () => create({ checks: { user: { userId: noFactor.userId } }, challenges: { otpEmail: { kind: 'return' } } }),
        'FailedPrecondition',
        'COMMAND-JKLJ3',
      );
      await expectNothingWritten(
        () => create({ checks: { user: { userId: user.userId }, otpEmail: { code: '12345678' } } }),
        'FailedPrecondition',
        'COMMAND-S34gh',
      );
      await expectNothingWritten(() => set('300000000000000404', { checks: { user: { userId: user.userId } } }), 'NotFound', 'QUERY-SFeaa');
      await expectNothingWritten(() => set('300000000000000404', { checks: { otpEmail: { code: '12345678' } } }), 'InvalidArgument', 'COMMAND-S453v');
      // Nothing to change on a session that does not exist: its empty details, as ZITADEL answers.
      const head = await app.store.headPosition();
      await expect(set('300000000000000404', {})).resolves.toMatchObject({ sessionToken: '', details: { sequence: 0, resourceOwner: 'instance-1' } });
      expect(await app.store.headPosition()).toBe(head);

      const s = await challengedSession();
      await expectNothingWritten(() => set(s.sessionId, { checks: { user: { userId: user.userId } } }), 'InvalidArgument', 'SESSION-UsrChg');
      await expectNothingWritten(() => set(s.sessionId, {}, callerWith([{ role: 'ORG_OWNER', orgId: OTHER_ORG }])), 'PermissionDenied', 'AUTH-AWfge');
      await expectNothingWritten(() => get(s.sessionId, callerWith([])), 'PermissionDenied', 'AUTH-AWfge');
      await expectNothingWritten(() => get(s.sessionId, callerWith([]), 'not-the-token'), 'PermissionDenied', 'QUERY-dsfr3');
      expect((await get(s.sessionId, callerWith([]), s.created.sessionToken)).id).toBe(s.sessionId);
      // ZITADEL's ORG_OWNER has no session.write; a login client (instance-wide) has it.
      await expectNothingWritten(
        () => set(s.sessionId, { challenges: { otpEmail: { kind: 'return' } } }, callerWith([{ role: 'ORG_OWNER', orgId: ORG }])),
        'PermissionDenied',
        'AUTH-AWfge',
      );
      await set(s.sessionId, { challenges: { otpEmail: { kind: 'return' } } }, callerWith([{ role: 'IAM_LOGIN_CLIENT' }]));
    });

    it('refuses a check after the factor was removed (COMMAND-d2r52), writing nothing', async () => {
      const s = await challengedSession();
      await app.store.append(`user-${s.userId}`, [{ type: 'user.otp.email.removed', data: {} }], 'any');
      await expectNothingWritten(() => set(s.sessionId, { checks: { otpEmail: { code: s.code } } }), 'FailedPrecondition', 'COMMAND-d2r52');
    });

    it('refuses a wrong code (CODE-woT0xc) and an expired one (CODE-QvUQ4P), recording both as failed checks', async () => {
      const s = await challengedSession();
      await expect(set(s.sessionId, { checks: { otpEmail: { code: wrongCode(s.code) } } })).rejects.toEqual(byKindAndId('InvalidArgument', 'CODE-woT0xc'));
      app.clock.advance(5 * MINUTE);
      await expect(set(s.sessionId, { checks: { otpEmail: { code: s.code } } })).rejects.toEqual(byKindAndId('FailedPrecondition', 'CODE-QvUQ4P'));
      expect((await types(`user-${s.userId}`)).filter((t) => t === 'user.otp.email.check.failed')).toHaveLength(2);
      // Nothing on the session for failures.
      expect(await types(`session-${s.sessionId}`)).toEqual(['session.added', 'session.user.checked', 'session.otp.email.challenged', 'session.token.set']);
      // A new challenge gives a new, valid code; the success resets the count.
      const again = await set(s.sessionId, { challenges: { otpEmail: { kind: 'return' } } });
      await set(s.sessionId, { checks: { otpEmail: { code: again.challenges!.otpEmail! } } });
      expect((await types(`user-${s.userId}`)).slice(-1)).toEqual(['user.otp.email.check.succeeded']);
    });

    it('checks the user and challenges in one request, ZITADEL’s order (checks first)', async () => {
      const user = await seedUser();
      const created = await create({ checks: { user: { loginName: user.username } }, challenges: { otpEmail: { kind: 'return' } } });
      const both = await set(created.sessionId, { checks: { otpEmail: { code: created.challenges!.otpEmail! } }, challenges: { otpEmail: { kind: 'return' } } });
      expect(both.challenges?.otpEmail).toMatch(/^\d{8}$/);
      expect(await types(`session-${created.sessionId}`)).toEqual([
        'session.added',
        'session.user.checked',
        'session.otp.email.challenged',
        'session.token.set',
        'session.otp.email.checked',
        'session.otp.email.challenged',
        'session.token.set',
      ]);
    });

    it('answers a SetSession without changes with the details as they are and no new token', async () => {
      const s = await challengedSession();
      await expect(set(s.sessionId, {})).resolves.toMatchObject({ sessionToken: '', details: { sequence: 4 } });
    });

    it('expires a session with a lifetime', async () => {
      const s = await challengedSession();
      await set(s.sessionId, { lifetimeMs: MINUTE });
      expect((await get(s.sessionId)).expirationDate).toEqual(new Date(app.clock.time + MINUTE));
      app.clock.advance(MINUTE);
      await expectNothingWritten(() => set(s.sessionId, { checks: { otpEmail: { code: s.code } } }), 'FailedPrecondition', 'COMMAND-Hkl3d');
    });
  });

  describe('DeleteSession and GetSession', () => {
    it('terminates a session; it is then NotFound to read and FailedPrecondition to change', async () => {
      const s = await challengedSession();
      const details = await app.commands.execute(new DeleteSessionCommand({ caller: loginClient, sessionId: s.sessionId }));
      expect(details.sequence).toBe(5);
      expect(await types(`session-${s.sessionId}`)).toContain('session.terminated');
      await expectNothingWritten(() => get(s.sessionId), 'NotFound', 'QUERY-SFeaa');
      await expectNothingWritten(() => set(s.sessionId, { checks: { otpEmail: { code: s.code } } }), 'FailedPrecondition', 'COMMAND-Hewfq');
      // Terminating again is no error and writes nothing (ZITADEL).
      const head = await app.store.headPosition();
      await expect(app.commands.execute(new DeleteSessionCommand({ caller: loginClient, sessionId: s.sessionId }))).resolves.toEqual(details);
      expect(await app.store.headPosition()).toBe(head);
      await expectNothingWritten(() => get('300000000000000404'), 'NotFound', 'QUERY-SFeaa');
      // Terminating a session that does not exist is no error either, and writes nothing.
      await expect(app.commands.execute(new DeleteSessionCommand({ caller: loginClient, sessionId: '300000000000000404' }))).resolves.toMatchObject({
        sequence: 0,
      });
      expect(await app.store.headPosition()).toBe(head);
    });

    it('lets anyone with the current token delete, and refuses an old token (COMMAND-sGr42)', async () => {
      const s = await challengedSession();
      const newer = await set(s.sessionId, { challenges: { otpEmail: { kind: 'return' } } });
      const stranger = callerWith([], '900000000000000099');
      await expectNothingWritten(
        () => app.commands.execute(new DeleteSessionCommand({ caller: stranger, sessionId: s.sessionId, sessionToken: s.created.sessionToken })),
        'PermissionDenied',
        'COMMAND-sGr42',
      );
      await expectNothingWritten(
        () => app.commands.execute(new DeleteSessionCommand({ caller: stranger, sessionId: s.sessionId })),
        'PermissionDenied',
        'AUTH-AWfge',
      );
      await app.commands.execute(new DeleteSessionCommand({ caller: stranger, sessionId: s.sessionId, sessionToken: newer.sessionToken }));
      expect((await types(`session-${s.sessionId}`)).pop()).toBe('session.terminated');
    });
  });

  describe('lockout', () => {
    it('locks after 5 wrong codes; the 6th attempt with the right code fails with COMMAND-S6h4R and writes nothing', async () => {
      const s = await challengedSession();
      for (let i = 0; i < 5; i++) {
        await expect(set(s.sessionId, { checks: { otpEmail: { code: wrongCode(s.code) } } })).rejects.toEqual(byKindAndId('InvalidArgument', 'CODE-woT0xc'));
      }
      expect((await types(`user-${s.userId}`)).slice(-6)).toEqual([
        'user.otp.email.check.failed',
        'user.otp.email.check.failed',
        'user.otp.email.check.failed',
        'user.otp.email.check.failed',
        'user.otp.email.check.failed',
        'user.locked',
      ]);
      await expectNothingWritten(() => set(s.sessionId, { checks: { otpEmail: { code: s.code } } }), 'FailedPrecondition', 'COMMAND-S6h4R');
      expect((await get(s.sessionId)).factors.otpEmail).toBeUndefined();
      // A locked user cannot start a session either.
      await expectNothingWritten(() => create({ checks: { user: { userId: s.userId } } }), 'FailedPrecondition', 'SESSION-Gj4ko');

      // The user may unlock themself, as in ZITADEL; unlocking twice is refused.
      const unlocked = await app.commands.execute(new UnlockUserCommand({ caller: { ...callerWith([]), userId: s.userId }, userId: s.userId }));
      expect(unlocked.resourceOwner).toBe(ORG);
      expect((await types(`user-${s.userId}`)).pop()).toBe('user.unlocked');
      await expectNothingWritten(() => app.commands.execute(new UnlockUserCommand({ caller: admin, userId: s.userId })), 'FailedPrecondition', 'COMMAND-olb9vb0oca');
      await expectNothingWritten(() => app.commands.execute(new UnlockUserCommand({ caller: admin, userId: '404' })), 'NotFound', 'COMMAND-x377t913pw');
      await expectNothingWritten(() => app.commands.execute(new UnlockUserCommand({ caller: admin, userId: '' })), 'InvalidArgument', 'COMMAND-a9ld4xckax');

      // The challenge is still valid, and the count starts again from zero.
      await set(s.sessionId, { checks: { otpEmail: { code: s.code } } });
      expect((await get(s.sessionId)).factors.otpEmail).toBeDefined();
    });

    it('locks exactly once when 10 wrong codes arrive at once', async () => {
      const s = await challengedSession();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => set(s.sessionId, { checks: { otpEmail: { code: wrongCode(s.code) } } })),
      );
      const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as { id: string }).id : 'fulfilled'));
      const userTypes = await types(`user-${s.userId}`);
      expect(userTypes.filter((t) => t === 'user.locked')).toHaveLength(1);
      expect(userTypes.filter((t) => t === 'user.otp.email.check.failed')).toHaveLength(5);
      expect(reasons.filter((id) => id === 'CODE-woT0xc')).toHaveLength(5);
      expect(reasons.filter((id) => id === 'COMMAND-S6h4R')).toHaveLength(5);
      // The lock is the event right after the fifth failure.
      expect(userTypes.slice(-2)).toEqual(['user.otp.email.check.failed', 'user.locked']);
    });
  });

  describe('send rate limit', () => {
    it('allows 5 emails per window across sessions, not counting returnCode; the 6th is ResourceExhausted and writes nothing', async () => {
      const user = await seedUser();
      const a = await create({ checks: { user: { userId: user.userId } }, challenges: { otpEmail: { kind: 'send' } } });
      const b = await create({ checks: { user: { userId: user.userId } }, challenges: { otpEmail: { kind: 'send' } } });
      app.clock.advance(MINUTE);
      await set(a.sessionId, { challenges: { otpEmail: { kind: 'send', urlTemplate: 'https://app/?c={{.Code}}' } } });
      await set(b.sessionId, { challenges: { otpEmail: { kind: 'send' } } });
      app.clock.advance(MINUTE);
      await set(b.sessionId, { challenges: { otpEmail: { kind: 'send' } } });
      const bCode = await currentCode(b.sessionId);
      // returnCode challenges are not emails: not counted, still allowed.
      for (let i = 0; i < 3; i++) await set(a.sessionId, { challenges: { otpEmail: { kind: 'return' } } });

      await expectNothingWritten(() => set(b.sessionId, { challenges: { otpEmail: { kind: 'send' } } }), 'ResourceExhausted', 'SESSION-OtpLim');
      await expectNothingWritten(() => set(a.sessionId, { challenges: { otpEmail: { kind: 'send' } } }), 'ResourceExhausted', 'SESSION-OtpLim');
      await expectNothingWritten(
        () => create({ checks: { user: { userId: user.userId } }, challenges: { otpEmail: { kind: 'send' } } }),
        'ResourceExhausted',
        'SESSION-OtpLim',
      );
      expect((await types(`user-${user.userId}`)).filter((t) => t === 'user.otp.email.challenge.sent')).toHaveLength(5);

      // The previous code still works.
      await set(b.sessionId, { checks: { otpEmail: { code: bCode } } });
      expect((await get(b.sessionId)).factors.otpEmail).toBeDefined();

      // Once the first two sends leave the window (10 minutes), two more may go.
      app.clock.advance(8 * MINUTE + 1);
      await set(a.sessionId, { challenges: { otpEmail: { kind: 'send' } } });
      await set(b.sessionId, { challenges: { otpEmail: { kind: 'send' } } });
      await expectNothingWritten(() => set(a.sessionId, { challenges: { otpEmail: { kind: 'send' } } }), 'ResourceExhausted', 'SESSION-OtpLim');
    });

    it('counts concurrent challenges in different sessions exactly', async () => {
      const user = await seedUser();
      const sessions = await Promise.all([0, 1].map(() => create({ checks: { user: { userId: user.userId } } })));
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => set(sessions[i % 2]!.sessionId, { challenges: { otpEmail: { kind: 'send' } } })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toEqual(byKindAndId('ResourceExhausted', 'SESSION-OtpLim'));
      expect((await types(`user-${user.userId}`)).filter((t) => t === 'user.otp.email.challenge.sent')).toHaveLength(5);
    });
  });

  describe('with multi-stream appends (PostgreSQL, PGlite): the user’s half and the session’s are one append', () => {
    // The failure comes inside the transaction, after both streams' rows are inserted.
    const failCommitOf = (sessionId: string) => app.failNextCommit((stream) => stream === `session-${sessionId}`);

    it('a check whose commit fails leaves neither the success on the user nor the check on the session; the code then works once', async () => {
      const s = await challengedSession();
      const user = await types(`user-${s.userId}`);
      const session = await types(`session-${s.sessionId}`);
      failCommitOf(s.sessionId);
      await expect(set(s.sessionId, { checks: { otpEmail: { code: s.code } } })).rejects.toThrow('simulated failure at commit');
      expect(await types(`user-${s.userId}`)).toEqual(user);
      expect(await types(`session-${s.sessionId}`)).toEqual(session);

      await set(s.sessionId, { checks: { otpEmail: { code: s.code } } });
      expect((await get(s.sessionId)).factors.otpEmail).toBeDefined();
      expect((await types(`user-${s.userId}`)).filter((t) => t === 'user.otp.email.check.succeeded')).toHaveLength(1);
    });

    it('a challenge whose commit fails counts no send and leaves the previous challenge in place', async () => {
      const s = await challengedSession();
      const session = await types(`session-${s.sessionId}`);
      failCommitOf(s.sessionId);
      await expect(set(s.sessionId, { challenges: { otpEmail: { kind: 'send' } } })).rejects.toThrow('simulated failure at commit');
      expect(await types(`user-${s.userId}`)).not.toContain('user.otp.email.challenge.sent');
      expect(await types(`session-${s.sessionId}`)).toEqual(session);
      await set(s.sessionId, { checks: { otpEmail: { code: s.code } } });
    });

    it('Given a challenged session, When SetSession checks the code, Then the session and the user are each read once', async () => {
      const s = await challengedSession();
      const reads = jest.spyOn(app.store, 'readStream');
      try {
        await set(s.sessionId, { checks: { otpEmail: { code: s.code } } });
        const streams = reads.mock.calls.map(([stream]) => stream);
        expect(streams.filter((stream) => stream === `session-${s.sessionId}`)).toHaveLength(1);
        expect(streams.filter((stream) => stream === `user-${s.userId}`)).toHaveLength(1);
      } finally {
        reads.mockRestore();
      }
      expect((await get(s.sessionId)).factors.otpEmail).toBeDefined();
    });

    it('Given the user locked after SetSession read it, When its append meets the newer user, Then it decides again on the locked user and writes nothing', async () => {
      const s = await challengedSession();
      const session = await types(`session-${s.sessionId}`);
      const readStream = app.store.readStream.bind(app.store);
      let lockedMeanwhile = false;
      const reads = jest.spyOn(app.store, 'readStream').mockImplementation(async (stream) => {
        const events = await readStream(stream);
        if (stream === `user-${s.userId}` && !lockedMeanwhile) {
          lockedMeanwhile = true;
          const metadata = { instanceId: 'instance-1', resourceOwner: ORG, editor: 'system', correlationId: 'lock-meanwhile' };
          await app.store.append(stream, [{ type: 'user.locked', data: { reason: 'otp.email.max.attempts' }, metadata }], 'any');
        }
        return events;
      });
      try {
        await expect(set(s.sessionId, { checks: { otpEmail: { code: s.code } } })).rejects.toEqual(byKindAndId('FailedPrecondition', 'COMMAND-S6h4R'));
      } finally {
        reads.mockRestore();
      }
      expect(lockedMeanwhile).toBe(true);
      expect(await types(`session-${s.sessionId}`)).toEqual(session);
      expect((await types(`user-${s.userId}`)).pop()).toBe('user.locked');
    });

    it('a correct code checked twice at once is recorded once, on the user and on the session', async () => {
      const s = await challengedSession();
      const results = await Promise.allSettled([1, 2].map(() => set(s.sessionId, { checks: { otpEmail: { code: s.code } } })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toEqual(byKindAndId('FailedPrecondition', 'COMMAND-S34gh'));
      expect((await types(`user-${s.userId}`)).filter((t) => t === 'user.otp.email.check.succeeded')).toHaveLength(1);
      expect((await types(`session-${s.sessionId}`)).filter((t) => t === 'session.otp.email.checked')).toHaveLength(1);
    });
  });

  describe('without multi-stream appends (EventStoreDB): a crash between the user stream’s append and the session’s', () => {
    beforeAll(() => {
      app.store.multiStream = false;
    });
    afterAll(() => {
      app.store.multiStream = true;
    });

    it('leaves the check unrecorded on the session; the same correct code works on retry', async () => {
      const s = await challengedSession();
      app.store.failNextAppend((stream) => stream === `session-${s.sessionId}`);
      await expect(set(s.sessionId, { checks: { otpEmail: { code: s.code } } })).rejects.toThrow('simulated crash');
      expect((await types(`user-${s.userId}`)).slice(-1)).toEqual(['user.otp.email.check.succeeded']);
      expect(await types(`session-${s.sessionId}`)).not.toContain('session.otp.email.checked');
      expect((await get(s.sessionId)).factors.otpEmail).toBeUndefined();

      await set(s.sessionId, { checks: { otpEmail: { code: s.code } } });
      expect((await get(s.sessionId)).factors.otpEmail).toBeDefined();
      expect((await types(`user-${s.userId}`)).filter((t) => t === 'user.otp.email.check.succeeded')).toHaveLength(2);
      await expectNothingWritten(() => set(s.sessionId, { checks: { otpEmail: { code: s.code } } }), 'FailedPrecondition', 'COMMAND-S34gh');
    });

    it('counts a send whose challenge was never recorded (the limit errs on the safe side)', async () => {
      const s = await challengedSession();
      app.store.failNextAppend((stream) => stream === `session-${s.sessionId}`);
      await expect(set(s.sessionId, { challenges: { otpEmail: { kind: 'send' } } })).rejects.toThrow('simulated crash');
      expect((await types(`user-${s.userId}`)).filter((t) => t === 'user.otp.email.challenge.sent')).toHaveLength(1);
      // The returnCode challenge from before is still the session's challenge.
      await set(s.sessionId, { checks: { otpEmail: { code: s.code } } });
    });
  });

  it('keeps no code and no session token in plain text anywhere in the store', async () => {
    const all: RecordedEvent[] = await app.store.readAll({ limit: 100_000 });
    expect(all.length).toBeGreaterThan(50);
    expect(secrets.size).toBeGreaterThan(20);
    const text = all.map((e) => JSON.stringify({ data: e.data, metadata: e.metadata, type: e.type, stream: e.stream })).join('\n');
    for (const secret of secrets) expect(text.includes(secret)).toBe(false);
  });
});
