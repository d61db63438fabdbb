import type { Config } from '#config';

/** What the session flow takes from the configuration (libs/config/src/config.ts). */
export interface SessionSettings {
  /** OTP_EMAIL_CODE_LENGTH: digits of an OTP Email code. */
  otpEmailCodeLength: number;
  /** OTP_EMAIL_CODE_TTL (ms): how long a challenge's code is valid. */
  otpEmailCodeTtlMs: number;
  /** LOCKOUT_MAX_OTP_ATTEMPTS: failed OTP checks that lock the user; 0 = lockout off. */
  lockoutMaxOtpAttempts: number;
  /** OTP_EMAIL_MAX_SENDS_PER_WINDOW: OTP emails per user per window. */
  otpEmailMaxSendsPerWindow: number;
  /** OTP_EMAIL_SEND_WINDOW (ms). */
  otpEmailSendWindowMs: number;
  /** PUBLIC_URL: origin of the default link in OTP emails. */
  publicUrl: string;
}

export const SESSION_SETTINGS = Symbol('SessionSettings');

export function sessionSettingsFrom(config: Config): SessionSettings {
  return {
    otpEmailCodeLength: config.OTP_EMAIL_CODE_LENGTH,
    otpEmailCodeTtlMs: config.OTP_EMAIL_CODE_TTL,
    lockoutMaxOtpAttempts: config.LOCKOUT_MAX_OTP_ATTEMPTS,
    otpEmailMaxSendsPerWindow: config.OTP_EMAIL_MAX_SENDS_PER_WINDOW,
    otpEmailSendWindowMs: config.OTP_EMAIL_SEND_WINDOW,
    publicUrl: config.PUBLIC_URL,
  };
}

/** The design's defaults (the same as the configuration's). */
export const DEFAULT_SESSION_SETTINGS: SessionSettings = {
  otpEmailCodeLength: 8,
  otpEmailCodeTtlMs: 5 * 60_000,
  lockoutMaxOtpAttempts: 5,
  otpEmailMaxSendsPerWindow: 5,
  otpEmailSendWindowMs: 10 * 60_000,
  publicUrl: 'http://localhost:8080',
};
