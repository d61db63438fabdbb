/**
 * The emails' texts, in plain text and simple HTML, per language. Modelled on ZITADEL's
 * `VerifyEmailOTP` and `VerifyEmail` message texts (internal/notification/static/i18n), with the
 * real validity instead of ZITADEL's fixed "five minutes" (our code TTLs are configurable).
 * Values are escaped in the HTML; the code never appears anywhere but in the message itself.
 */

export type MessageKind = 'otp_email' | 'email_verification';

export const SUPPORTED_LANGUAGES = ['en', 'de'] as const;
export type Language = (typeof SUPPORTED_LANGUAGES)[number];
export const FALLBACK_LANGUAGE: Language = 'en';

/** `de`, `de-CH`, `DE_de` → de; anything we have no texts for (or nothing) → en. */
export function chooseLanguage(preferred: string | undefined): Language {
  const primary = (preferred ?? '').trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return (SUPPORTED_LANGUAGES as readonly string[]).includes(primary) ? (primary as Language) : FALLBACK_LANGUAGE;
}

export interface MessageInput {
  /** The greeting's name (display name, else the username). */
  displayName: string;
  code: string;
  link: string;
  expiresAt: Date;
  /** When the message is composed: the validity left is counted from here. */
  now: Date;
}

export interface RenderedMessage {
  language: Language;
  subject: string;
  text: string;
  html: string;
}

interface Texts {
  subject: string;
  title: string;
  greeting: (name: string) => string;
  /** The paragraph with the code and the validity left; `action` names the link (text) or button (HTML). */
  body: (code: string, validity: string, action: string) => string;
  button: string;
  /** The plain-text name of the link, and the HTML's name of the button. */
  action: { text: string; html: string };
  /** "or open this link" under the button, for clients that hide buttons. */
  linkIntro: string;
  ignore: string;
}

type Unit = 'minute' | 'hour';
const units: Record<Language, Record<Unit, [string, string]>> = {
  en: { minute: ['minute', 'minutes'], hour: ['hour', 'hours'] },
  de: { minute: ['Minute', 'Minuten'], hour: ['Stunde', 'Stunden'] },
};

/** "5 minutes (until 25 Nov 2026, 14:05 UTC)": what is left, rounded up, and the moment in UTC. */
export function formatValidity(language: Language, expiresAt: Date, now: Date): string {
  const minutes = Math.max(1, Math.ceil((expiresAt.getTime() - now.getTime()) / 60_000));
  const [amount, unit]: [number, Unit] = minutes >= 120 && minutes % 60 === 0 ? [minutes / 60, 'hour'] : [minutes, 'minute'];
  const [one, many] = units[language][unit];
  const moment = new Intl.DateTimeFormat(language === 'de' ? 'de-DE' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'UTC',
  }).format(expiresAt);
  return language === 'de'
    ? `${amount} ${amount === 1 ? one : many} (bis ${moment} UTC)`
    : `${amount} ${amount === 1 ? one : many} (until ${moment} UTC)`;
}

const texts: Record<MessageKind, Record<Language, Texts>> = {
  otp_email: {
    en: {
      subject: 'Verify One-Time Password',
      title: 'Verify One-Time Password',
      greeting: (name) => `Hello ${name},`,
      body: (code, validity, action) =>
        `Please use ${action} or enter the one-time password ${code} on the authentication screen to authenticate within the next ${validity}.`,
      button: 'Authenticate',
      action: { text: 'the "Authenticate" link below', html: 'the "Authenticate" button' },
      linkIntro: 'Or open this link:',
      ignore: 'If you did not try to sign in, you can ignore this email.',
    },
    de: {
      subject: 'Einmalpasswort bestätigen',
      title: 'Einmalpasswort bestätigen',
      greeting: (name) => `Hallo ${name},`,
      body: (code, validity, action) =>
        `Bitte nutze ${action} oder gib das Einmalpasswort ${code} auf der Anmeldeseite ein, um dich innerhalb der nächsten ${validity} zu authentifizieren.`,
      button: 'Authentifizieren',
      action: { text: 'den Link „Authentifizieren“ unten', html: 'den Button „Authentifizieren“' },
      linkIntro: 'Oder öffne diesen Link:',
      ignore: 'Falls du dich nicht anmelden wolltest, kannst du diese E-Mail ignorieren.',
    },
  },
  email_verification: {
    en: {
      subject: 'Verify email',
      title: 'Verify email',
      greeting: (name) => `Hello ${name},`,
      body: (code, validity, action) =>
        `A new email address has been added. Please verify it within the next ${validity}: use ${action}, or enter the code ${code}.`,
      button: 'Verify email',
      action: { text: 'the "Verify email" link below', html: 'the button below' },
      linkIntro: 'Or open this link:',
      ignore: "If you didn't add this email address, please ignore this email.",
    },
    de: {
      subject: 'E-Mail-Adresse verifizieren',
      title: 'E-Mail-Adresse verifizieren',
      greeting: (name) => `Hallo ${name},`,
      body: (code, validity, action) =>
        `Eine neue E-Mail-Adresse wurde hinzugefügt. Bitte verifiziere sie innerhalb der nächsten ${validity}: über ${action} oder mit dem Code ${code}.`,
      button: 'E-Mail-Adresse verifizieren',
      action: { text: 'den Link „E-Mail-Adresse verifizieren“ unten', html: 'den Button unten' },
      linkIntro: 'Oder öffne diesen Link:',
      ignore: 'Falls du die E-Mail-Adresse nicht selbst hinzugefügt hast, kannst du diese E-Mail ignorieren.',
    },
  },
};

/** Stands for the code while the HTML paragraph is escaped; then replaced by the emphasised code. */
const CODE_MARK = '\u0000code\u0000';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The email for one code, in the user's language (fallback English). */
export function renderMessage(kind: MessageKind, preferredLanguage: string | undefined, input: MessageInput): RenderedMessage {
  const language = chooseLanguage(preferredLanguage);
  const t = texts[kind][language];
  const validity = formatValidity(language, input.expiresAt, input.now);
  const text = [
    t.greeting(input.displayName),
    '',
    t.body(input.code, validity, t.action.text),
    '',
    `${t.button}: ${input.link}`,
    '',
    t.ignore,
    '',
  ].join('\n');
  const paragraph = escapeHtml(t.body(CODE_MARK, validity, t.action.html)).replace(
    CODE_MARK,
    `<strong style="font-size:1.25em;letter-spacing:0.1em">${escapeHtml(input.code)}</strong>`,
  );
  const link = escapeHtml(input.link);
  const html = `<!doctype html>
<html lang="${language}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(t.title)}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;line-height:1.5;color:#222;max-width:600px;margin:0 auto;padding:16px">
<h1 style="font-size:1.4em">${escapeHtml(t.title)}</h1>
<p>${escapeHtml(t.greeting(input.displayName))}</p>
<p>${paragraph}</p>
<p><a href="${link}" style="display:inline-block;padding:10px 20px;background:#3b5bdb;color:#fff;text-decoration:none;border-radius:4px">${escapeHtml(t.button)}</a></p>
<p style="font-size:0.9em">${escapeHtml(t.linkIntro)}<br><a href="${link}">${link}</a></p>
<p style="font-size:0.9em;color:#666">${escapeHtml(t.ignore)}</p>
</body>
</html>
`;
  return { language, subject: t.subject, text, html };
}
