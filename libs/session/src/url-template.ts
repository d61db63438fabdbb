import { invalidArgument } from '#errors';

/**
 * URL templates of OTP Email links (`challenges.otpEmail.sendCode.urlTemplate`).
 *
 * ZITADEL renders them with Go's text/template. We accept a SAFE subset of that syntax: literal
 * text and actions of exactly the form `{{.Field}}` (spaces or tabs allowed inside the braces:
 * `{{ .Code }}`), with the six fields ZITADEL documents for OTP Email (OTPEmailURLData):
 * `.Code .UserID .LoginName .DisplayName .PreferredLanguage .SessionID`. Everything else is
 * refused when the challenge is asked:
 * - a parse error (an action that is not `{{.Name}}`: pipelines, functions, `if`, comments,
 *   trim markers `{{- ... -}}`; a `{{` without its `}}`; a `}}` without its `{{`) →
 *   InvalidArgument `DOMAIN-oGh5e`;
 * - an unknown field (`{{.Password}}`, `{{.code}}`: Go's field names are case-sensitive) →
 *   InvalidArgument `DOMAIN-ieYa7` (Go fails at execution there);
 * both with the key `Errors.User.InvalidURLTemplate`, as ZITADEL answers.
 * A stray `}}` is plain text to Go; we refuse it as unbalanced (the only template Go accepts and
 * we do not). Values are URL-encoded (encodeURIComponent) when rendered, so a login name such
 * as `ada+1@example.com` or a display name with spaces stays one query parameter; Go's
 * text/template would insert them as they are.
 */
export const URL_TEMPLATE_FIELDS = ['Code', 'UserID', 'LoginName', 'DisplayName', 'PreferredLanguage', 'SessionID'] as const;
export type UrlTemplateField = (typeof URL_TEMPLATE_FIELDS)[number];
export type UrlTemplateData = Record<UrlTemplateField, string>;

export type UrlTemplatePart = { text: string } | { field: UrlTemplateField };

export const URL_TEMPLATE_PARSE_ERROR = 'DOMAIN-oGh5e';
export const URL_TEMPLATE_UNKNOWN_FIELD = 'DOMAIN-ieYa7';

const ACTION = /^[ \t]*\.([A-Za-z_][A-Za-z0-9_]*)[ \t]*$/;

const parseError = () => invalidArgument(URL_TEMPLATE_PARSE_ERROR, 'Errors.User.InvalidURLTemplate');

/**
 * The fields of email verification links (ZITADEL's ConfirmURLData for
 * `sendCode.urlTemplate` on AddHumanUser and SetEmail), checked with the same rules.
 */
export const EMAIL_URL_TEMPLATE_FIELDS = ['UserID', 'OrgID', 'Code'] as const;

/**
 * Refuses an email verification URL template that is not in the safe subset with the fields
 * above, with the same DomainErrors; ZITADEL renders it once before anything else is done.
 */
export function assertEmailUrlTemplate(template: string): void {
  parseUrlTemplate(template, EMAIL_URL_TEMPLATE_FIELDS);
}

/** The template's parts; throws the DomainErrors above. `fields`: the names it may use. */
export function parseUrlTemplate(template: string): UrlTemplatePart[];
export function parseUrlTemplate(template: string, fields: readonly string[]): unknown[];
export function parseUrlTemplate(template: string, fields: readonly string[] = URL_TEMPLATE_FIELDS): UrlTemplatePart[] {
  const parts: UrlTemplatePart[] = [];
  let rest = template;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    const close = rest.indexOf('}}');
    if (open < 0) {
      if (close >= 0) throw parseError();
      parts.push({ text: rest });
      break;
    }
    if (close >= 0 && close < open) throw parseError();
    if (open > 0) parts.push({ text: rest.slice(0, open) });
    const end = rest.indexOf('}}', open + 2);
    if (end < 0) throw parseError();
    const match = ACTION.exec(rest.slice(open + 2, end));
    if (!match) throw parseError();
    const name = match[1]!;
    if (!fields.includes(name)) throw invalidArgument(URL_TEMPLATE_UNKNOWN_FIELD, 'Errors.User.InvalidURLTemplate');
    parts.push({ field: name as UrlTemplateField });
    rest = rest.slice(end + 2);
  }
  return parts;
}

/** Refuses a template that is not in the safe subset (see above); at challenge time. */
export function assertUrlTemplate(template: string): void {
  parseUrlTemplate(template);
}

/**
 * The link for one email: the template with each `{{.Field}}` replaced by the URL-encoded
 * value. For the notifier; throws (as above) for a template that never passed assertUrlTemplate.
 */
export function renderUrlTemplate(template: string, data: UrlTemplateData): string {
  return parseUrlTemplate(template)
    .map((part) => ('text' in part ? part.text : encodeURIComponent(data[part.field] ?? '')))
    .join('');
}

/** ZITADEL's default OTP Email link (Login.DefaultOTPEmailURLV2) on our PUBLIC_URL. */
export function defaultOtpEmailUrlTemplate(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/otp/verify?loginName={{.LoginName}}&code={{.Code}}`;
}
