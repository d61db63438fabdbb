import { type EncryptedValue } from '#crypto';

/**
 * The session stream's events. Stream: `session-<sessionId>`. Metadata as on user events
 * (instance, resource owner = the checked user's org once known, before that the creating
 * caller's org; editor, correlation id). docs/sessions.md describes the flow.
 */
export const SessionEventType = {
  Added: 'session.added',
  UserChecked: 'session.user.checked',
  OtpEmailChallenged: 'session.otp.email.challenged',
  OtpEmailSent: 'session.otp.email.sent',
  OtpEmailChecked: 'session.otp.email.checked',
  TokenSet: 'session.token.set',
  LifetimeSet: 'session.lifetime.set',
  MetadataSet: 'session.metadata.set',
  Terminated: 'session.terminated',
} as const;

/**
 * The user agent a session was created from (ZITADEL's domain.UserAgent): what the
 * CreateSession request's `userAgent` gave, the client's address filling in `ip` when the
 * request gave none. `header` keeps the request's `userAgent.header` as it was given.
 */
export interface SessionUserAgent {
  fingerprintId?: string;
  ip?: string;
  description?: string;
  header?: Record<string, string[]>;
}

/**
 * On disk `userAgent` is the user agent's description (the one field events had before the
 * others); `fingerprintId`, `ip` and `header` are the rest, each optional, so older events
 * (a description or nothing) still fold.
 */
export interface SessionAdded {
  type: typeof SessionEventType.Added;
  data: { userAgent?: string; fingerprintId?: string; ip?: string; header?: Record<string, string[]> };
}

/** The user agent of a `session.added`, or undefined when it names none. */
export function userAgentOfAdded(data: SessionAdded['data']): SessionUserAgent | undefined {
  const agent: SessionUserAgent = {
    ...(data.fingerprintId ? { fingerprintId: data.fingerprintId } : {}),
    ...(data.ip ? { ip: data.ip } : {}),
    ...(data.userAgent ? { description: data.userAgent } : {}),
    ...(data.header && Object.keys(data.header).length > 0 ? { header: data.header } : {}),
  };
  return Object.keys(agent).length > 0 ? agent : undefined;
}

/** The payload of a `session.added` for a user agent (the inverse of userAgentOfAdded). */
export function addedDataOf(agent: SessionUserAgent | undefined): SessionAdded['data'] {
  if (!agent) return {};
  return {
    ...(agent.description ? { userAgent: agent.description } : {}),
    ...(agent.fingerprintId ? { fingerprintId: agent.fingerprintId } : {}),
    ...(agent.ip ? { ip: agent.ip } : {}),
    ...(agent.header && Object.keys(agent.header).length > 0 ? { header: agent.header } : {}),
  };
}
/** `loginName` is the username at the time of the check (unique in the instance). */
export interface SessionUserChecked {
  type: typeof SessionEventType.UserChecked;
  data: { userId: string; orgId: string; loginName: string; checkedAt: string };
}
/**
 * A code was generated for the session's user. `returnCode` true: the code went back to the
 * API caller and no email is sent. A newer challenge replaces the older one; a successful check
 * clears it (a code works once). `urlTemplate` was validated when the challenge was asked (see
 * url-template.ts); absent means the default link. The challenge's identity is the event's
 * sequence in the session stream.
 */
export interface SessionOtpEmailChallenged {
  type: typeof SessionEventType.OtpEmailChallenged;
  data: { userId: string; code: EncryptedValue; expiresAt: string; returnCode: boolean; urlTemplate?: string };
}
/** The notifier sent the email of the challenge at `challengeSequence` (its idempotency key). */
export interface SessionOtpEmailSent {
  type: typeof SessionEventType.OtpEmailSent;
  data: { challengeSequence: number };
}
export interface SessionOtpEmailChecked {
  type: typeof SessionEventType.OtpEmailChecked;
  data: { checkedAt: string };
}
/**
 * Only the SHA-256 hash of the session token is stored (hex). Every change of the session sets
 * a new token; the previous one stops being valid.
 */
export interface SessionTokenSet {
  type: typeof SessionEventType.TokenSet;
  data: { tokenId: string; hash: string };
}
/** The session stops being usable at `expiresAt` (the request's `lifetime` after the change). */
export interface SessionLifetimeSet {
  type: typeof SessionEventType.LifetimeSet;
  data: { lifetimeMs: number; expiresAt: string };
}
/**
 * The session's metadata after a change, whole (as ZITADEL's session.metadata.set): keys to
 * base64 values. Written only when the request changed something.
 */
export interface SessionMetadataSet {
  type: typeof SessionEventType.MetadataSet;
  data: { metadata: Record<string, string> };
}
export interface SessionTerminated {
  type: typeof SessionEventType.Terminated;
  data: Record<string, never>;
}

export type SessionEvent =
  | SessionAdded
  | SessionUserChecked
  | SessionOtpEmailChallenged
  | SessionOtpEmailSent
  | SessionOtpEmailChecked
  | SessionTokenSet
  | SessionLifetimeSet
  | SessionMetadataSet
  | SessionTerminated;

export const sessionStream = (sessionId: string) => `session-${sessionId}`;
export const sessionIdOfStream = (stream: string) => (stream.startsWith('session-') ? stream.slice('session-'.length) : undefined);
