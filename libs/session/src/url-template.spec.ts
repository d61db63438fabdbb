import { describe, expect, it } from '@jest/globals';
import { assertUrlTemplate, defaultOtpEmailUrlTemplate, parseUrlTemplate, renderUrlTemplate, type UrlTemplateData } from './url-template.js';

const data: UrlTemplateData = {
  Code: '12345678',
  UserID: '200000000000000001',
  LoginName: 'ada+1@example.com',
  DisplayName: 'Ada Lovelace',
  PreferredLanguage: 'en',
  SessionID: '300000000000000001',
};

const fails = (template: string, id: string) =>
  expect(() => assertUrlTemplate(template)).toThrow(expect.objectContaining({ name: 'DomainError', kind: 'InvalidArgument', id, key: 'Errors.User.InvalidURLTemplate' }));

describe('URL templates', () => {
  it('renders the six fields, URL-encoding the values', () => {
    expect(
      renderUrlTemplate(
        'https://app.example/otp?c={{.Code}}&u={{.UserID}}&l={{.LoginName}}&d={{ .DisplayName }}&lang={{.PreferredLanguage}}&s={{\t.SessionID\t}}',
        data,
      ),
    ).toBe('https://app.example/otp?c=12345678&u=200000000000000001&l=ada%2B1%40example.com&d=Ada%20Lovelace&lang=en&s=300000000000000001');
  });

  it('keeps literal text, single braces included, and accepts a template without actions', () => {
    expect(renderUrlTemplate('https://app.example/#/{x}', data)).toBe('https://app.example/#/{x}');
    expect(parseUrlTemplate('')).toEqual([]);
    expect(parseUrlTemplate('a{{.Code}}{{.Code}}b')).toEqual([{ text: 'a' }, { field: 'Code' }, { field: 'Code' }, { text: 'b' }]);
  });

  it('renders the default link of PUBLIC_URL', () => {
    expect(renderUrlTemplate(defaultOtpEmailUrlTemplate('https://id.example/'), data)).toBe(
      'https://id.example/otp/verify?loginName=ada%2B1%40example.com&code=12345678',
    );
  });

  it('refuses anything but {{.Field}} as a parse error (DOMAIN-oGh5e)', () => {
    for (const template of [
      'https://app/{{.Code',
      'https://app/.Code}}',
      'https://app/}}{{.Code}}',
      'https://app/{{.Code}}}}',
      'https://app/{{Code}}',
      'https://app/{{ . }}',
      'https://app/{{.Code | html}}',
      'https://app/{{printf "%s" .Code}}',
      'https://app/{{if .Code}}x{{end}}',
      'https://app/{{- .Code -}}',
      'https://app/{{/* comment */}}',
      'https://app/{{.User.ID}}',
      'https://app/{{ {{.Code}}',
      'https://app/{{}}',
      'https://app/{{.Code\n}}',
    ]) {
      fails(template, 'DOMAIN-oGh5e');
    }
  });

  it('refuses an unknown field (DOMAIN-ieYa7), case-sensitively as Go does', () => {
    fails('https://app/?p={{.Password}}', 'DOMAIN-ieYa7');
    fails('https://app/?c={{.code}}', 'DOMAIN-ieYa7');
    fails('https://app/?c={{.UserId}}', 'DOMAIN-ieYa7');
  });
});
