import type { RoleGrant } from '#access';
import type { RecordedEvent } from '#eventstore';
import { asStreamEvents } from '#kernel';
import { UserEventType, type Profile, type UserEvent } from './events.js';
import { type EncryptedValue } from '#crypto';

export interface PendingEmailCode {
  code: EncryptedValue;
  expiresAt: string;
  sendEmail: boolean;
  urlTemplate?: string;
  /** Sequence of the user.email.code.added event (the notifier's idempotency key). */
  sequence: number;
  /** Wrong codes given for this code (user.email.verification.failed). */
  failedAttempts?: number;
}

/** What the user's commands need to know, folded from the user stream. */
export interface UserState {
  exists: boolean;
  kind?: 'human' | 'machine';
  username?: string;
  /** The organization that owns the user (resource owner). */
  orgId?: string;
  profile?: Profile;
  /** The current address, verified or not. */
  email?: string;
  /** The current address has been verified. */
  emailVerified: boolean;
  /** The last address that was verified: where OTP codes go. */
  verifiedEmail?: string;
  /**
   * Some address was verified since the user was created. As in ZITADEL, a later change of
   * address does not take this back: it is what AddOTPEmail requires.
   */
  emailEverVerified: boolean;
  emailCode?: PendingEmailCode;
  otpEmailAdded: boolean;
  locked: boolean;
  /** Failed OTP Email checks since the last success or unlock. */
  otpEmailFailedChecks: number;
  /**
   * When the latest OTP emails were allowed (user.otp.email.challenge.sent `at`, oldest first,
   * the last MAX_TRACKED_OTP_EMAIL_SENDS): what the send rate limit counts.
   */
  otpEmailSends: string[];
  pats: Record<string, { hash: string; expiresAt?: string }>;
  roles: RoleGrant[];
  /** The id was fenced off (user.registration.abandoned): no user may be created with it. */
  abandoned?: boolean;
  /**
   * The user was deleted (user.removed): `exists` is false again, everything personal is
   * forgotten; only the organization stays (it names no person). The id is never reused.
   */
  removed?: boolean;
  /** Sequence of the last event folded (0 = no events): the expected revision of the next append. */
  version: number;
  /** The last event's time: read-model change dates come from here. */
  changedAt?: Date;
}

/** The send limit is at most 1000 per window (OTP_EMAIL_MAX_SENDS_PER_WINDOW), so this many suffice. */
export const MAX_TRACKED_OTP_EMAIL_SENDS = 1000;

export const initialUserState = (): UserState => ({
  exists: false,
  emailVerified: false,
  emailEverVerified: false,
  otpEmailAdded: false,
  locked: false,
  otpEmailFailedChecks: 0,
  otpEmailSends: [],
  pats: {},
  roles: [],
  version: 0,
});

/** Folds one user event into the state. Unknown types change nothing but the version. */
export function evolveUser(state: UserState, event: UserEvent, sequence = state.version + 1, createdAt?: Date): UserState {
  const next: UserState = { ...state, version: sequence, ...(createdAt ? { changedAt: createdAt } : {}) };
  switch (event.type) {
    case UserEventType.HumanAdded:
      return {
        ...next,
        exists: true,
        kind: 'human',
        username: event.data.username,
        orgId: event.data.orgId,
        profile: event.data.profile,
        email: event.data.email,
        emailVerified: false,
        emailEverVerified: false,
      };
    case UserEventType.MachineAdded:
      return { ...next, exists: true, kind: 'machine', username: event.data.username, orgId: event.data.orgId };
    case UserEventType.EmailChanged: {
      const { emailCode: _dropped, ...rest } = next;
      return { ...rest, email: event.data.email, emailVerified: false };
    }
    case UserEventType.EmailCodeAdded:
      return { ...next, emailCode: { ...event.data, sequence } };
    case UserEventType.EmailCodeSent:
      return next;
    case UserEventType.EmailVerified: {
      const { emailCode: _used, ...rest } = next;
      return { ...rest, email: event.data.email, emailVerified: true, verifiedEmail: event.data.email, emailEverVerified: true };
    }
    case UserEventType.EmailVerificationFailed:
      return state.emailCode ? { ...next, emailCode: { ...state.emailCode, failedAttempts: (state.emailCode.failedAttempts ?? 0) + 1 } } : next;
    case UserEventType.OtpEmailAdded:
      return { ...next, otpEmailAdded: true };
    case UserEventType.OtpEmailRemoved:
      return { ...next, otpEmailAdded: false };
    case UserEventType.OtpEmailCheckSucceeded:
      return { ...next, otpEmailFailedChecks: 0 };
    case UserEventType.OtpEmailCheckFailed:
      return { ...next, otpEmailFailedChecks: state.otpEmailFailedChecks + 1 };
    case UserEventType.OtpEmailChallengeSent:
      return { ...next, otpEmailSends: [...state.otpEmailSends, event.data.at].slice(-MAX_TRACKED_OTP_EMAIL_SENDS) };
    case UserEventType.Locked:
      return { ...next, locked: true };
    case UserEventType.Unlocked:
      return { ...next, locked: false, otpEmailFailedChecks: 0 };
    case UserEventType.PatAdded:
      return {
        ...next,
        pats: {
          ...state.pats,
          [event.data.tokenId]: { hash: event.data.hash, ...(event.data.expiresAt ? { expiresAt: event.data.expiresAt } : {}) },
        },
      };
    case UserEventType.PatRemoved: {
      const { [event.data.tokenId]: _removed, ...pats } = state.pats;
      return { ...next, pats };
    }
    case UserEventType.MemberRoleGranted:
      return {
        ...next,
        roles: [...state.roles, { role: event.data.role, ...(event.data.orgId ? { orgId: event.data.orgId } : {}) }],
      };
    case UserEventType.MemberRoleRemoved: {
      const { role, orgId } = event.data;
      return { ...next, roles: state.roles.filter((grant) => !(grant.role === role && (grant.orgId ?? undefined) === (orgId || undefined))) };
    }
    case UserEventType.RegistrationAbandoned:
      return { ...next, abandoned: true };
    case UserEventType.Removed:
      return {
        ...initialUserState(),
        removed: true,
        version: next.version,
        ...(next.changedAt ? { changedAt: next.changedAt } : {}),
        ...(state.orgId ? { orgId: state.orgId } : {}),
      };
    default:
      return next;
  }
}

/**
 * Untyped events, as `EventStore.readStream` returns them, for callers outside the domain that
 * still read untyped; read the stream with `readStreamOf<UserEvent>` (#kernel) instead.
 */
export function foldUser(events: readonly RecordedEvent[]): UserState;
/**
 * The state from the events of `user-<userId>`. This signature comes last on purpose: it is the
 * one TypeScript infers from when the fold is passed on (decideOnStream types the stream by it).
 */
export function foldUser(events: readonly RecordedEvent<UserEvent>[]): UserState;
export function foldUser(events: readonly RecordedEvent[]): UserState {
  return asStreamEvents<UserEvent>(events).reduce((state, e) => evolveUser(state, e, e.sequence, e.createdAt), initialUserState());
}
