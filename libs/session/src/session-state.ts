import type { RecordedEvent } from '#eventstore';
import { asStreamEvents } from '#kernel';
import { SessionEventType, userAgentOfAdded, type SessionEvent, type SessionUserAgent } from './events.js';
import { type EncryptedValue } from '#crypto';

/** The current OTP Email challenge of a session (the latest `session.otp.email.challenged`). */
export interface OtpEmailChallenge {
  userId: string;
  code: EncryptedValue;
  expiresAt: string;
  returnCode: boolean;
  urlTemplate?: string;
  /** Sequence of the challenged event: identifies the challenge (the notifier's idempotency key). */
  sequence: number;
}

/** What the session's commands and GetSession need, folded from `session-<id>`. */
export interface SessionState {
  exists: boolean;
  terminated: boolean;
  /** The user who created the session (editor of session.added). */
  creator?: string;
  /** The organization the session belongs to: the checked user's, else the creator's. */
  resourceOwner?: string;
  userAgent?: SessionUserAgent;
  user?: { id: string; orgId: string; loginName: string; checkedAt: string };
  otpEmailChallenge?: OtpEmailChallenge;
  /** Sequences of challenges whose email the notifier sent. */
  otpEmailSent: number[];
  otpEmailCheckedAt?: string;
  token?: { tokenId: string; hash: string };
  expiresAt?: string;
  /** Keys to base64 values (session.metadata.set). */
  metadata: Readonly<Record<string, string>>;
  createdAt?: Date;
  changedAt?: Date;
  /** Sequence of the last event folded (0 = none): the expected revision of the next append. */
  version: number;
}

/**
 * Every key present from the start, the optional ones undefined, so each event's state is a copy
 * of an object of one shape (as the user's fold: spreads of changing shapes cost microseconds
 * per event).
 */
export const initialSessionState = (): SessionState => ({
  exists: false,
  terminated: false,
  creator: undefined,
  resourceOwner: undefined,
  userAgent: undefined,
  user: undefined,
  otpEmailChallenge: undefined,
  otpEmailSent: [],
  otpEmailCheckedAt: undefined,
  token: undefined,
  expiresAt: undefined,
  metadata: {},
  createdAt: undefined,
  changedAt: undefined,
  version: 0,
});

/**
 * Folds one session event. `metadata` gives the creator and the resource owner. The state given
 * is not changed: the next one is a copy with the event's changes set on it.
 */
export function evolveSession(
  state: SessionState,
  event: SessionEvent,
  sequence = state.version + 1,
  createdAt?: Date,
  metadata?: { editor?: unknown; resourceOwner?: unknown },
): SessionState {
  const next: SessionState = { ...state };
  next.version = sequence;
  if (createdAt) next.changedAt = createdAt;
  switch (event.type) {
    case SessionEventType.Added: {
      const userAgent = userAgentOfAdded(event.data);
      next.exists = true;
      if (createdAt) next.createdAt = createdAt;
      if (typeof metadata?.editor === 'string') next.creator = metadata.editor;
      if (typeof metadata?.resourceOwner === 'string') next.resourceOwner = metadata.resourceOwner;
      if (userAgent) next.userAgent = userAgent;
      return next;
    }
    case SessionEventType.UserChecked:
      next.user = { id: event.data.userId, orgId: event.data.orgId, loginName: event.data.loginName, checkedAt: event.data.checkedAt };
      next.resourceOwner = event.data.orgId;
      return next;
    case SessionEventType.OtpEmailChallenged:
      next.otpEmailChallenge = { ...event.data, sequence };
      return next;
    case SessionEventType.OtpEmailSent:
      next.otpEmailSent = [...state.otpEmailSent, event.data.challengeSequence];
      return next;
    case SessionEventType.OtpEmailChecked:
      next.otpEmailChallenge = undefined;
      next.otpEmailCheckedAt = event.data.checkedAt;
      return next;
    case SessionEventType.TokenSet:
      next.token = { tokenId: event.data.tokenId, hash: event.data.hash };
      return next;
    case SessionEventType.LifetimeSet:
      next.expiresAt = event.data.expiresAt;
      return next;
    case SessionEventType.MetadataSet:
      next.metadata = event.data.metadata;
      return next;
    case SessionEventType.Terminated:
      next.terminated = true;
      return next;
    default:
      return next;
  }
}

/**
 * Untyped events, as `EventStore.readStream` returns them, for callers outside the domain that
 * still read untyped; read the stream with `readStreamOf<SessionEvent>` (#kernel) instead.
 */
export function foldSession(events: readonly RecordedEvent[]): SessionState;
/**
 * The state from the events of `session-<sessionId>`. This signature comes last on purpose: it
 * is the one TypeScript infers from when the fold is passed on (decideOnStream types the
 * stream by it).
 */
export function foldSession(events: readonly RecordedEvent<SessionEvent>[]): SessionState;
export function foldSession(events: readonly RecordedEvent[]): SessionState {
  return asStreamEvents<SessionEvent>(events).reduce(
    (state, e) => evolveSession(state, e, e.sequence, e.createdAt, e.metadata),
    initialSessionState(),
  );
}

/** Expired by its lifetime at `now`. */
export const sessionExpired = (state: SessionState, now: Date) => state.expiresAt !== undefined && now.getTime() >= Date.parse(state.expiresAt);
