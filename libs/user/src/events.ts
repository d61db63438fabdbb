/**
 * The user stream's events: types and payloads, in one place. Projections, the notifier and
 * the session flow read these; docs/events.md describes them for people. A payload never
 * changes meaning: add optional fields, or a new event type.
 *
 * Stream: `user-<userId>`. Every event's metadata is an EventMetadata.
 */

import type { Role } from '#access';
import type { EncryptedValue } from '#crypto';

/** ZITADEL's genders other than unspecified; an event without one means unspecified. */
export const GENDERS = ['female', 'male', 'diverse'] as const;
export type Gender = (typeof GENDERS)[number];

export type Profile = {
  givenName: string;
  familyName: string;
  displayName: string;
  nickName?: string;
  preferredLanguage?: string;
  /** Absent: unspecified (every event written before the field existed folds so). */
  gender?: Gender;
};

export const UserEventType = {
  HumanAdded: 'user.human.added',
  MachineAdded: 'user.machine.added',
  EmailChanged: 'user.email.changed',
  EmailCodeAdded: 'user.email.code.added',
  EmailCodeSent: 'user.email.code.sent',
  EmailVerified: 'user.email.verified',
  EmailVerificationFailed: 'user.email.verification.failed',
  OtpEmailAdded: 'user.otp.email.added',
  OtpEmailRemoved: 'user.otp.email.removed',
  OtpEmailCheckSucceeded: 'user.otp.email.check.succeeded',
  OtpEmailCheckFailed: 'user.otp.email.check.failed',
  OtpEmailChallengeSent: 'user.otp.email.challenge.sent',
  Locked: 'user.locked',
  Unlocked: 'user.unlocked',
  PatAdded: 'user.pat.added',
  PatRemoved: 'user.pat.removed',
  MemberRoleGranted: 'user.member.role.granted',
  MemberRoleRemoved: 'user.member.role.removed',
  RegistrationAbandoned: 'user.registration.abandoned',
  Removed: 'user.removed',
  Erased: 'user.erased',
} as const;

export interface HumanAdded {
  type: typeof UserEventType.HumanAdded;
  data: { username: string; orgId: string; profile: Profile; email: string };
}
export interface MachineAdded {
  type: typeof UserEventType.MachineAdded;
  data: { username: string; orgId: string; name: string; description?: string };
}
/** The address changed; it is unverified until a user.email.verified for it. */
export interface EmailChanged {
  type: typeof UserEventType.EmailChanged;
  data: { email: string };
}
/**
 * A verification code for the current address. `sendEmail` false means the code was
 * returned to the API caller (returnCode) and no email goes out. A newer code replaces it.
 */
export interface EmailCodeAdded {
  type: typeof UserEventType.EmailCodeAdded;
  data: { code: EncryptedValue; expiresAt: string; sendEmail: boolean; urlTemplate?: string };
}
export interface EmailCodeSent {
  type: typeof UserEventType.EmailCodeSent;
  /** The sequence of the user.email.code.added that was sent. */
  data: { codeSequence?: number };
}
export interface EmailVerified {
  type: typeof UserEventType.EmailVerified;
  data: { email: string };
}
/** A wrong code for the pending verification; after MAX_EMAIL_VERIFICATION_ATTEMPTS the code is void. */
export interface EmailVerificationFailed {
  type: typeof UserEventType.EmailVerificationFailed;
  data: Record<string, never>;
}
export interface OtpEmailAdded {
  type: typeof UserEventType.OtpEmailAdded;
  data: Record<string, never>;
}
export interface OtpEmailRemoved {
  type: typeof UserEventType.OtpEmailRemoved;
  data: Record<string, never>;
}
export interface OtpEmailCheckSucceeded {
  type: typeof UserEventType.OtpEmailCheckSucceeded;
  data: { sessionId?: string };
}
export interface OtpEmailCheckFailed {
  type: typeof UserEventType.OtpEmailCheckFailed;
  data: { sessionId?: string };
}
/**
 * A session asked for an OTP Email challenge that goes out by email (not returnCode), and the
 * send rate limit allowed it: written on the user stream, with its expected revision, BEFORE the
 * session's `session.otp.email.challenged`, so concurrent challenges in different sessions count
 * exactly. The send limit counts these events (`at` is the deciding clock's time). The notifier
 * does not act on it: it sends for the session event.
 */
export interface OtpEmailChallengeSent {
  type: typeof UserEventType.OtpEmailChallengeSent;
  data: { sessionId: string; at: string };
}
export interface Locked {
  type: typeof UserEventType.Locked;
  data: { reason?: string };
}
export interface Unlocked {
  type: typeof UserEventType.Unlocked;
  data: Record<string, never>;
}
/** A personal access token: only its SHA-256 hash is stored. */
export interface PatAdded {
  type: typeof UserEventType.PatAdded;
  data: { tokenId: string; hash: string; expiresAt?: string };
}
export interface PatRemoved {
  type: typeof UserEventType.PatRemoved;
  data: { tokenId: string };
}
/** A role on an organization, or on the whole instance when orgId is absent. */
export interface MemberRoleGranted {
  type: typeof UserEventType.MemberRoleGranted;
  data: { role: Role; orgId?: string };
}
/** Takes back every grant of `role` on `orgId` (on the instance when absent): the pair of MemberRoleGranted. */
export interface MemberRoleRemoved {
  type: typeof UserEventType.MemberRoleRemoved;
  data: { role: Role; orgId?: string };
}

/**
 * The user was never created: its username claim outlived the bound without the user appearing
 * (a crash between the claim and the user, on a store without multi-stream appends), and the
 * name went to someone else. Written as the stream's first event, so a late append of the user
 * with 'no_stream' fails instead of creating a second holder of the name. The id stays unused.
 */
export interface RegistrationAbandoned {
  type: typeof UserEventType.RegistrationAbandoned;
  data: { username: string };
}

/**
 * The user was deleted (DeleteUser). The stream's last event: every later command on the user
 * answers NotFound, its username is free again, its tokens, codes and sessions are dead. The
 * payload names nobody: it carries no username or address.
 */
export interface Removed {
  type: typeof UserEventType.Removed;
  data: Record<string, never>;
}

/**
 * An operator erased what the user's events held in plain text from before personal data was
 * sealed per person (`users erase`): those payloads were rewritten in place, their personal
 * fields emptied. Written after `user.removed`; `rewritten` counts the events changed.
 */
export interface Erased {
  type: typeof UserEventType.Erased;
  data: { rewritten: number };
}

export type UserEvent =
  | HumanAdded
  | MachineAdded
  | EmailChanged
  | EmailCodeAdded
  | EmailCodeSent
  | EmailVerified
  | EmailVerificationFailed
  | OtpEmailAdded
  | OtpEmailRemoved
  | OtpEmailCheckSucceeded
  | OtpEmailCheckFailed
  | OtpEmailChallengeSent
  | Locked
  | Unlocked
  | PatAdded
  | PatRemoved
  | MemberRoleGranted
  | MemberRoleRemoved
  | RegistrationAbandoned
  | Removed
  | Erased;

export const userStream = (userId: string) => `user-${userId}`;
export const userIdOfStream = (stream: string) => (stream.startsWith('user-') ? stream.slice('user-'.length) : undefined);
