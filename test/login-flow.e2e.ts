import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { create } from '@bufbuild/protobuf';
import { createServerTransport } from '@zitadel/client/node';
import { createSessionServiceClient, createUserServiceClient } from '@zitadel/client/v2';
import { ReturnEmailVerificationCodeSchema } from '@zitadel/proto/zitadel/user/v2/email_pb.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_STORE } from '#eventstore';
import { Writable } from 'node:stream';
import { createLogger, restClient, startTestServer, storeKinds, type TestServer } from '#test-support';
import { eventually } from '#test-kit';

/** Waits for an .eml in DATA_DIR/outbox addressed to `to` that was not there before, and returns its text. */
function nextEmail(dataDir: string, to: string, seen: Set<string>, timeoutMs = 20_000): Promise<string> {
  const outbox = join(dataDir, 'outbox');
  return eventually(
    () => {
      const files = existsSync(outbox) ? readdirSync(outbox).filter((f) => f.endsWith('.eml')).sort() : [];
      for (const file of files) {
        if (seen.has(file)) continue;
        const text = readFileSync(join(outbox, file), 'utf8');
        if (new RegExp(`^To: .*${to.replace('.', '\\.')}`, 'mi').test(text)) {
          seen.add(file);
          return text;
        }
      }
      throw new Error(`no new email to ${to} in ${outbox}`);
    },
    { timeoutMs, intervalMs: 100 },
  );
}

const otpOf = (email: string) => {
  // The 8-digit code, also in quoted-printable or base64 bodies it shows up in the link or the text.
  const decoded = email.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const fromLink = /[?&]code=(\d{8})/.exec(decoded)?.[1];
  return fromLink ?? /\b(\d{8})\b/.exec(decoded)?.[1];
};

// The whole login flow with the embedded outbox (no SMTP_URL): create a user, verify the email,
// add OTP Email, create a session with checks.user and challenges.otpEmail.sendCode, read the
// code from the captured email, check it, and see factors.otpEmail.verifiedAt.
describe.each(storeKinds())('the login flow with OTP Email (%s)', (kind) => {
  let t: TestServer;
  const seen = new Set<string>();
  let logs = '';
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs += chunk.toString();
        done();
      },
    });
    t = await startTestServer(kind, {}, createLogger('debug', sink));
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('runs over REST', async () => {
    const call = restClient(t.url);
    const added = await call('POST', '/v2/users/human', t.adminToken, {
      username: 'ada',
      profile: { givenName: 'Ada', familyName: 'Lovelace' },
      email: { email: 'ada@example.com', returnCode: {} },
    });
    const userId = added.body.userId;
    expect((await call('POST', `/v2/users/${userId}/email/verify`, t.adminToken, { verificationCode: added.body.emailCode })).status).toBe(200);
    expect((await call('POST', `/v2/users/${userId}/otp_email`, t.adminToken, {})).status).toBe(200);

    const session = await call('POST', '/v2/sessions', t.adminToken, {
      checks: { user: { loginName: 'ada' } },
      challenges: { otpEmail: { sendCode: { urlTemplate: 'https://login.example/otp?code={{.Code}}&session={{.SessionID}}' } } },
    });
    expect(session.status).toBe(201);
    expect(session.body.sessionToken).toBeTruthy();
    expect(session.body.challenges?.otpEmail).toBeUndefined();
    const sessionId = session.body.sessionId;

    const email = await nextEmail(t.dataDir, 'ada@example.com', seen);
    const code = otpOf(email);
    expect(code).toMatch(/^\d{8}$/);
    expect(email.replace(/=\r?\n/g, '').replace(/=3D/g, '=')).toContain(`https://login.example/otp?code=${code}&session=${sessionId}`);

    const checked = await call('PATCH', `/v2/sessions/${sessionId}`, t.adminToken, { checks: { otpEmail: { code } } });
    expect(checked.status).toBe(200);
    expect(checked.body.sessionToken).toBeTruthy();
    expect(checked.body.sessionToken).not.toBe(session.body.sessionToken);

    const got = await call('GET', `/v2/sessions/${sessionId}`, t.adminToken);
    expect(got.status).toBe(200);
    expect(Date.parse(got.body.session.factors.otpEmail.verifiedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(got.body.session.factors.user.id).toBe(userId);

    // A code works once.
    const again = await call('PATCH', `/v2/sessions/${sessionId}`, t.adminToken, { checks: { otpEmail: { code } } });
    expect(again.status).toBe(400);
    expect(again.body.details[0].id).toBe('COMMAND-S34gh');

    // No secret in plain text, neither in the event store nor in the logs.
    const events = JSON.stringify(await t.server.app.get(EVENT_STORE).readAll({ limit: 100_000 }));
    for (const secret of [code!, session.body.sessionToken, checked.body.sessionToken, t.adminToken, added.body.emailCode]) {
      expect(events).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    expect(logs.length).toBeGreaterThan(0);
  });

  it('runs through @zitadel/client over gRPC', async () => {
    const transport = createServerTransport(t.adminToken, { baseUrl: t.url });
    const users = createUserServiceClient(transport);
    const sessions = createSessionServiceClient(transport);
    const added = await users.addHumanUser({
      username: 'grace',
      profile: { givenName: 'Grace', familyName: 'Hopper' },
      email: { email: 'grace@example.com', verification: { case: 'returnCode', value: create(ReturnEmailVerificationCodeSchema) } },
    });
    await users.verifyEmail({ userId: added.userId, verificationCode: added.emailCode! });
    await users.addOTPEmail({ userId: added.userId });

    const created = await sessions.createSession({
      checks: { user: { search: { case: 'loginName', value: 'grace' } } },
      challenges: { otpEmail: { deliveryType: { case: 'sendCode', value: {} } } },
    });
    const code = otpOf(await nextEmail(t.dataDir, 'grace@example.com', seen));
    expect(code).toMatch(/^\d{8}$/);
    await sessions.setSession({ sessionId: created.sessionId, checks: { otpEmail: { code: code! } } });
    const got = await sessions.getSession({ sessionId: created.sessionId });
    expect(got.session?.factors?.otpEmail?.verifiedAt).toBeDefined();
  });
});
