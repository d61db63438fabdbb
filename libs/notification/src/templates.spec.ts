import { describe, expect, it } from '@jest/globals';
import { defaultEmailVerificationUrlTemplate, emailVerificationLink, LinkTemplateError, otpEmailLink } from './links.js';
import { emailCodeSent } from './notifier.js';
import { chooseLanguage, formatValidity, renderMessage } from './templates.js';
import type { RecordedEvent } from '#eventstore';

describe('chooseLanguage', () => {
  it.each([
    ['de', 'de'],
    ['de-CH', 'de'],
    ['DE_de', 'de'],
    ['en-US', 'en'],
    ['fr', 'en'],
    ['', 'en'],
    [undefined, 'en'],
  ])('%s → %s', (preferred, language) => expect(chooseLanguage(preferred)).toBe(language));
});

describe('renderMessage', () => {
  const now = new Date('2026-11-25T14:00:00Z');
  const input = { displayName: 'Ada <b>Lovelace</b>', code: '12345678', link: 'https://app.example/otp?c=1&s=2', expiresAt: new Date('2026-11-25T14:05:00Z'), now };

  it('puts the code, the link and the validity into both parts, and escapes values in the HTML', () => {
    const m = renderMessage('otp_email', 'en', input);
    expect(m.subject).toBe('Verify One-Time Password');
    expect(m.text).toContain('12345678');
    expect(m.text).toContain('https://app.example/otp?c=1&s=2');
    expect(m.text).toContain('5 minutes (until 25 Nov 2026, 14:05 UTC)');
    expect(m.html).toContain('<strong style="font-size:1.25em;letter-spacing:0.1em">12345678</strong>');
    expect(m.html).toContain('href="https://app.example/otp?c=1&amp;s=2"');
    expect(m.html).toContain('Ada &lt;b&gt;Lovelace&lt;/b&gt;');
    expect(m.html).not.toContain('<b>Lovelace');
  });

  it('has German texts', () => {
    expect(renderMessage('otp_email', 'de', input).subject).toBe('Einmalpasswort bestätigen');
    expect(renderMessage('email_verification', 'de', input).subject).toBe('E-Mail-Adresse verifizieren');
    expect(renderMessage('email_verification', 'en', input).subject).toBe('Verify email');
  });

  it('shows what is left of the validity, rounded up, in minutes or whole hours', () => {
    expect(formatValidity('en', new Date(now.getTime() + 60_000), now)).toMatch(/^1 minute \(/);
    expect(formatValidity('en', new Date(now.getTime() + 4.2 * 60_000), now)).toMatch(/^5 minutes \(/);
    expect(formatValidity('de', new Date(now.getTime() + 3 * 3_600_000), now)).toMatch(/^3 Stunden \(bis 25\.11\.2026, 17:00 UTC\)$/);
    expect(formatValidity('en', new Date(now.getTime() - 5_000), now)).toMatch(/^1 minute/);
  });
});

describe('links', () => {
  it('renders the default and templated email verification links, URL-encoding values', () => {
    const data = { UserID: 'u 1', OrgID: 'o&1', Code: 'AB12CD' };
    expect(emailVerificationLink(undefined, 'https://id.example.com/', data)).toBe('https://id.example.com/verify-email?userId=u%201&code=AB12CD');
    expect(emailVerificationLink('https://a.example/{{ .OrgID }}/{{.UserID}}?c={{.Code}}', 'x', data)).toBe('https://a.example/o%261/u%201?c=AB12CD');
    expect(defaultEmailVerificationUrlTemplate('https://id.example.com')).toBe('https://id.example.com/verify-email?userId={{.UserID}}&code={{.Code}}');
  });

  it.each(['{{.Password}}', '{{.Code | html}}', 'a{{.Code}', 'a}}b', '{{if .Code}}x{{end}}', '{{.LoginName}}'])(
    'refuses the email verification template %s',
    (template) => expect(() => emailVerificationLink(template, 'x', { UserID: 'u', OrgID: 'o', Code: 'c' })).toThrow(LinkTemplateError),
  );

  it('renders OTP links with the session library, and refuses what it refuses', () => {
    const data = { Code: '1', UserID: 'u', LoginName: 'a+b@x', DisplayName: 'A B', PreferredLanguage: 'de', SessionID: 's' };
    expect(otpEmailLink(undefined, 'https://id.example.com', data)).toBe('https://id.example.com/otp/verify?loginName=a%2Bb%40x&code=1');
    expect(otpEmailLink('x://{{.DisplayName}}/{{.PreferredLanguage}}', 'y', data)).toBe('x://A%20B/de');
    expect(() => otpEmailLink('{{.OrgID}}', 'y', data)).toThrow(LinkTemplateError);
  });
});

describe('emailCodeSent', () => {
  const event = (sequence: number, type: string, data: object = {}): RecordedEvent =>
    ({ id: String(sequence), stream: 'user-1', type, sequence, position: '', createdAt: new Date(), data, metadata: {} }) as RecordedEvent;

  it('finds the record that names the code', () => {
    const events = [event(1, 'user.email.code.added'), event(2, 'user.email.code.added'), event(3, 'user.email.code.sent', { codeSequence: 1 })];
    expect(emailCodeSent(events, 1)).toBe(true);
    expect(emailCodeSent(events, 2)).toBe(false);
  });

  it('takes a record without codeSequence for the latest code before it', () => {
    const events = [event(1, 'user.email.code.added'), event(2, 'user.email.code.sent'), event(3, 'user.email.code.added')];
    expect(emailCodeSent(events, 1)).toBe(true);
    expect(emailCodeSent(events, 3)).toBe(false);
  });
});
