import { defaultOtpEmailUrlTemplate, renderUrlTemplate, type UrlTemplateData } from '#session';

/**
 * The links in the emails. OTP Email links use the session's URL templates
 * (libs/session/src/url-template.ts: validated when the challenge is asked). Email
 * verification links use ZITADEL's fields for `SendEmailVerificationCode.url_template`
 * (`{{.UserID}} {{.OrgID}} {{.Code}}`) in the same safe subset of Go's text/template; the user
 * commands do not validate those templates yet, so a bad one is found here.
 */

export { defaultOtpEmailUrlTemplate };

export class LinkTemplateError extends Error {
  override readonly name = 'LinkTemplateError';
}

/** The OTP Email link: the challenge's template, or the default one. Throws LinkTemplateError for a template that is not in the safe subset. */
export function otpEmailLink(template: string | undefined, publicUrl: string, data: UrlTemplateData): string {
  try {
    return renderUrlTemplate(template ?? defaultOtpEmailUrlTemplate(publicUrl), data);
  } catch {
    throw new LinkTemplateError('the OTP Email URL template is not in the supported subset');
  }
}

export const EMAIL_VERIFICATION_URL_FIELDS = ['UserID', 'OrgID', 'Code'] as const;
export type EmailVerificationUrlData = Record<(typeof EMAIL_VERIFICATION_URL_FIELDS)[number], string>;

/** The default email verification link on PUBLIC_URL. */
export function defaultEmailVerificationUrlTemplate(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/verify-email?userId={{.UserID}}&code={{.Code}}`;
}

const ACTION = /^[ \t]*\.([A-Za-z_][A-Za-z0-9_]*)[ \t]*$/;

/**
 * The email verification link: literal text and `{{.UserID}}`, `{{.OrgID}}`, `{{.Code}}`
 * (spaces or tabs allowed inside the braces), each value URL-encoded; anything else inside
 * braces, an unknown field or unbalanced braces → LinkTemplateError.
 */
export function emailVerificationLink(template: string | undefined, publicUrl: string, data: EmailVerificationUrlData): string {
  const source = template ?? defaultEmailVerificationUrlTemplate(publicUrl);
  let out = '';
  let rest = source;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    const close = rest.indexOf('}}');
    if (open < 0) {
      if (close >= 0) throw new LinkTemplateError('unbalanced "}}" in the email verification URL template');
      out += rest;
      break;
    }
    if (close >= 0 && close < open) throw new LinkTemplateError('unbalanced "}}" in the email verification URL template');
    const end = rest.indexOf('}}', open + 2);
    if (end < 0) throw new LinkTemplateError('unbalanced "{{" in the email verification URL template');
    const match = ACTION.exec(rest.slice(open + 2, end));
    const field = match?.[1];
    if (!field || !(EMAIL_VERIFICATION_URL_FIELDS as readonly string[]).includes(field)) {
      throw new LinkTemplateError('unsupported action or field in the email verification URL template');
    }
    out += rest.slice(0, open) + encodeURIComponent(data[field as keyof EmailVerificationUrlData]);
    rest = rest.slice(end + 2);
  }
  return out;
}
