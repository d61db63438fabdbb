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

/**
 * Every key present from the start, the optional ones undefined: each event's state is then a
 * copy of an object of one shape. Built from spreads of changing shapes (a conditional spread,
 * an object rest per removed key) one event cost 8–9 µs to fold; a user's stream of three
 * events, 43 µs, on every command.
 */
export const initialUserState = (): UserState => ({
  exists: false,
  kind: undefined,
  username: undefined,
  orgId: undefined,
  profile: undefined,
  email: undefined,
  emailVerified: false,
  verifiedEmail: undefined,
  emailEverVerified: false,
  emailCode: undefined,
  otpEmailAdded: false,
  locked: false,
  otpEmailFailedChecks: 0,
  otpEmailSends: [],
  pats: {},
  roles: [],
  abandoned: undefined,
  removed: undefined,
  version: 0,
  changedAt: undefined,
});

/**
 * Folds one user event into the state. Unknown types change nothing but the version. The state
 * given is not changed: the next one is a copy (of the same shape, see initialUserState) with
 * the event's changes set on it.
 */
export function evolveUser(state: UserState, event: UserEvent, sequence = state.version + 1, createdAt?: Date): UserState {
  const next: UserState = { ...state };
  next.version = sequence;
  if (createdAt) next.changedAt = createdAt;
  switch (event.type) {
    case UserEventType.HumanAdded:
      next.exists = true;
      next.kind = 'human';
      next.username = event.data.username;
      next.orgId = event.data.orgId;
      next.profile = event.data.profile;
      next.email = event.data.email;
      next.emailVerified = false;
      next.emailEverVerified = false;
      return next;
    case UserEventType.MachineAdded:
      next.exists = true;
      next.kind = 'machine';
      next.username = event.data.username;
      next.orgId = event.data.orgId;
      return next;
    case UserEventType.EmailChanged:
      next.emailCode = undefined;
      next.email = event.data.email;
      next.emailVerified = false;
      return next;
    case UserEventType.EmailCodeAdded:
      next.emailCode = { ...event.data, sequence };
      return next;
    case UserEventType.EmailCodeSent:
      return next;
    case UserEventType.EmailVerified:
      next.emailCode = undefined;
      next.email = event.data.email;
      next.emailVerified = true;
      next.verifiedEmail = event.data.email;
      next.emailEverVerified = true;
      return next;
    case UserEventType.EmailVerificationFailed:
      if (state.emailCode) next.emailCode = { ...state.emailCode, failedAttempts: (state.emailCode.failedAttempts ?? 0) + 1 };
      return next;
    case UserEventType.OtpEmailAdded:
      next.otpEmailAdded = true;
      return next;
    case UserEventType.OtpEmailRemoved:
      next.otpEmailAdded = false;
      return next;
    case UserEventType.OtpEmailCheckSucceeded:
      next.otpEmailFailedChecks = 0;
      return next;
    case UserEventType.OtpEmailCheckFailed:
      next.otpEmailFailedChecks = state.otpEmailFailedChecks + 1;
      return next;
    case UserEventType.OtpEmailChallengeSent:
      next.otpEmailSends = [...state.otpEmailSends, event.data.at].slice(-MAX_TRACKED_OTP_EMAIL_SENDS);
      return next;
    case UserEventType.Locked:
      next.locked = true;
      return next;
    case UserEventType.Unlocked:
      next.locked = false;
      next.otpEmailFailedChecks = 0;
      return next;
    case UserEventType.PatAdded:
      next.pats = {
        ...state.pats,
        [event.data.tokenId]: { hash: event.data.hash, ...(event.data.expiresAt ? { expiresAt: event.data.expiresAt } : {}) },
      };
      return next;
    case UserEventType.PatRemoved: {
      const { [event.data.tokenId]: _removed, ...pats } = state.pats;
      next.pats = pats;
      return next;
    }
    case UserEventType.MemberRoleGranted:
      next.roles = [...state.roles, { role: event.data.role, ...(event.data.orgId ? { orgId: event.data.orgId } : {}) }];
      return next;
    case UserEventType.MemberRoleRemoved: {
      const { role, orgId } = event.data;
      next.roles = state.roles.filter((grant) => !(grant.role === role && (grant.orgId ?? undefined) === (orgId || undefined)));
      return next;
    }
    case UserEventType.RegistrationAbandoned:
      next.abandoned = true;
      return next;
    case UserEventType.Removed: {
      // Everything personal is forgotten; only the organization (it names no person) stays.
      const removed = initialUserState();
      removed.removed = true;
      removed.version = next.version;
      removed.changedAt = next.changedAt;
      removed.orgId = state.orgId;
      return removed;
    }
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
