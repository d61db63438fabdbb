import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import { CODE_CIPHER, type CodeCipher } from '#crypto';
import { generateNumericCode } from '#crypto';
import { aborted, failedPrecondition, internal, invalidArgument, notFound, type DomainError } from '#errors';
import { EVENT_STORE, WrongExpectedVersionError, type AppendedEvent, type EventStore, type NewEvent, type StreamAppend } from '#eventstore';
import { usernameHolder } from '#user';
import { assertAppendable, backoffDelayMs, CLOCK, decideOnStream, DEFAULT_ATTEMPTS, eventMetadata, readStreamOf, type Clock, type CommandContext } from '#kernel';
import { newCorrelationId } from '#kernel';
import { userStream, type UserEvent } from '#user';
import type { ObjectDetails } from '#kernel';
import { evolveUser, foldUser, type UserState } from '#user';
import { decideUserCheck } from './check-user/check-user.js';
import { SessionErrorId, sessionTerminated, userChangeNotPossible } from './errors.js';
import { addedDataOf, SessionEventType, sessionStream, type SessionEvent, type SessionUserAgent } from './events.js';
import {
  assertSessionHasUser,
  decideOtpEmailChallenge,
  decideOtpEmailChallengeOnUser,
  type OtpEmailDelivery,
} from './otp-email-challenge/otp-email-challenge.js';
import { decideMetadata, type MetadataChanges } from './metadata/set-metadata.js';
import { assertCheckHasUser, decideOtpEmailChecked, decideOtpEmailCheckOnUser } from './otp-email-check/otp-email-check.js';
import { SESSION_WRITE_RETRY } from './retry.js';
import { evolveSession, foldSession, type SessionState } from './session-state.js';
import { newSessionToken } from './session-token.js';
import { SESSION_SETTINGS, type SessionSettings } from './settings.js';
import { assertUrlTemplate } from './url-template.js';

/** `checks.user`: by id, or by login name (the username, unique in the instance). */
export type UserSearch = { userId: string } | { loginName: string };

/**
 * One request's write to a user stream (an OTP check's outcome, a challenge's send count),
 * decided on the user's latest state; `failure` is a failed check, thrown once its events are
 * written.
 */
interface UserHalf {
  userId: string;
  decide(user: UserState): { events: NewEvent<UserEvent>[]; failure?: DomainError };
}

/** What CreateSession and SetSession may change, in domain terms (the proto's Checks and RequestChallenges). */
export interface SessionChanges {
  checks?: { user?: UserSearch; otpEmail?: { code: string } };
  challenges?: { otpEmail?: OtpEmailDelivery };
  /** The request's `lifetime`, in ms: the session expires that long after this change. */
  lifetimeMs?: number;
  /** Keys to values; an empty value removes the key. */
  metadata?: MetadataChanges;
}

export interface SessionChangeResult {
  sessionId: string;
  details: ObjectDetails;
  /** The new token; '' when nothing changed (a SetSession without checks, challenges or lifetime, as ZITADEL). */
  sessionToken: string;
  /** Only for a returnCode challenge: the plain code. */
  challenges?: { otpEmail?: string };
}

/**
 * Runs the changes of one CreateSession / SetSession on a loaded session, in ZITADEL's order:
 * the user check, the OTP Email check, then the OTP Email challenge, then the lifetime, and a
 * new token. All of the session's events are decided (codes generated and encrypted) and
 * checked as the store will check them before anything is written. Then the writes that
 * concern the USER stream (check outcomes, lockout, the send-limit count), decided on the
 * user's latest state, and the session's events, re-validated against the latest session if
 * another writer came first (a code used meanwhile is refused there): in one multi-stream
 * append where the store has one, else the user stream first (see writeUserFirst).
 */
@Injectable()
export class SessionChangeRunner {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CODE_CIPHER) private readonly cipher: CodeCipher,
    @Inject(SESSION_SETTINGS) private readonly settings: SessionSettings,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  now(): Date {
    return this.clock.now();
  }

  /** Refuses what can be refused before anything is read or written: bad URL templates. */
  static validate(changes: SessionChanges): void {
    const delivery = changes.challenges?.otpEmail;
    if (delivery?.kind === 'send' && delivery.urlTemplate !== undefined) assertUrlTemplate(delivery.urlTemplate);
  }

  async run(
    sessionId: string,
    loaded: SessionState,
    changes: SessionChanges,
    context: CommandContext,
    now: Date,
    options: {
      /** CreateSession: the session starts with these changes. */
      start?: { userAgent?: SessionUserAgent };
      /** Users the caller has already read for this request (SetSession: the session's user), by id. */
      users?: ReadonlyMap<string, UserState>;
    } = {},
  ): Promise<SessionChangeResult> {
    const { start } = options;
    const readUsers = new Map(options.users);
    SessionChangeRunner.validate(changes);
    const ctx: CommandContext = { ...context, correlationId: context.correlationId ?? newCorrelationId() };
    let working = loaded;
    const pending: NewEvent<SessionEvent>[] = [];
    const push = (event: SessionEvent) => {
      const resourceOwner = event.type === SessionEventType.UserChecked ? event.data.orgId : (working.resourceOwner ?? ctx.caller.orgId);
      const metadata = eventMetadata(ctx, resourceOwner);
      pending.push({ ...event, metadata });
      working = evolveSession(working, event, working.version + 1, undefined, metadata);
    };

    if (start) push({ type: SessionEventType.Added, data: addedDataOf(start.userAgent) });

    let checkedUserId: string | undefined;
    const userCheck = changes.checks?.user;
    if (userCheck) {
      const userId = await this.resolveUser(userCheck);
      const user = readUsers.get(userId) ?? foldUser(await readStreamOf<UserEvent>(this.store, userStream(userId)));
      readUsers.set(userId, user);
      push(decideUserCheck(working, user, { userId, now }));
      checkedUserId = userId;
    }

    // Everything is decided, rendered and encrypted first, and the session's events checked as
    // the store will check them; only then the user stream is written. A request that fails on
    // its input therefore writes nothing: no check outcome and no `challenge.sent` for a
    // challenge that never reaches the session.
    let checkedChallenge: number | undefined;
    const otpCheck = changes.checks?.otpEmail;
    let checkOn: { userId: string; challenge: SessionState['otpEmailChallenge'] } | undefined;
    if (otpCheck) {
      checkOn = { userId: assertCheckHasUser(working), challenge: working.otpEmailChallenge };
      checkedChallenge = working.otpEmailChallenge?.sequence;
      push(decideOtpEmailChecked(working, { now }));
    }

    let returnedCode: string | undefined;
    const delivery = changes.challenges?.otpEmail;
    let challengeFor: string | undefined;
    if (delivery) {
      challengeFor = assertSessionHasUser(working);
      const plain = generateNumericCode(this.settings.otpEmailCodeLength);
      push(decideOtpEmailChallenge(working, { code: this.cipher.encrypt(plain), delivery, now, ttlMs: this.settings.otpEmailCodeTtlMs }));
      if (delivery.kind === 'return') returnedCode = plain;
    }

    // After the checks and challenges, before the lifetime: ZITADEL's order.
    let metadataAt: number | undefined;
    if (changes.metadata) {
      const event = decideMetadata(working, changes.metadata);
      if (event) {
        metadataAt = pending.length;
        push(event);
      }
    }

    if (changes.lifetimeMs !== undefined) {
      if (!(changes.lifetimeMs > 0)) throw invalidArgument('SESSION-Lft0', 'Errors.Session.Lifetime.Invalid');
      push({
        type: SessionEventType.LifetimeSet,
        data: { lifetimeMs: changes.lifetimeMs, expiresAt: new Date(now.getTime() + changes.lifetimeMs).toISOString() },
      });
    }

    if (pending.length === 0) {
      return { sessionId, details: detailsOf(loaded, ctx), sessionToken: '' };
    }
    const token = newSessionToken();
    push({ type: SessionEventType.TokenSet, data: { tokenId: token.tokenId, hash: token.hash } });
    assertAppendable([{ stream: sessionStream(sessionId), events: pending, expectedRevision: loaded.version }]);

    // The user-stream halves, each decided on the user's latest state when it is written.
    const userHalves: UserHalf[] = [];
    if (otpCheck && checkOn) {
      const { userId, challenge } = checkOn;
      userHalves.push({
        userId,
        decide: (user) => {
          const { events, result } = decideOtpEmailCheckOnUser(user, {
            ...ctx,
            sessionId,
            challenge,
            code: otpCheck.code,
            now,
            maxAttempts: this.settings.lockoutMaxOtpAttempts,
            decrypt: (value) => this.cipher.decrypt(value),
          });
          return { events, ...(result ? { failure: result } : {}) };
        },
      });
    }
    if (delivery && challengeFor) {
      userHalves.push({
        userId: challengeFor,
        decide: (user) => ({
          events: decideOtpEmailChallengeOnUser(user, {
            ...ctx,
            sessionId,
            delivery,
            now,
            maxSends: this.settings.otpEmailMaxSendsPerWindow,
            windowMs: this.settings.otpEmailSendWindowMs,
          }),
        }),
      });
    }

    // The session's events, re-validated against the latest session when another writer came first.
    const decideSession = (fresh: SessionState): NewEvent<SessionEvent>[] => {
      if (fresh.version === loaded.version) return pending;
      // Another change came first: the events above were decided on an older session.
      if (start) throw aborted('SESSION-IdUsed', 'Errors.ConcurrentWrite');
      if (fresh.terminated) throw sessionTerminated();
      if (checkedUserId && fresh.user && fresh.user.id !== checkedUserId) throw userChangeNotPossible();
      if (checkedChallenge !== undefined && fresh.otpEmailChallenge?.sequence !== checkedChallenge) {
        // The code was used (or replaced) by a concurrent request: a code works once.
        throw notFoundChallenge();
      }
      // The metadata event carries the whole map: decide it again on the latest metadata,
      // so that a concurrent change of other keys is kept.
      if (metadataAt !== undefined && changes.metadata) {
        const again = decideMetadata(fresh, changes.metadata);
        const events = pending.slice();
        if (again) events[metadataAt] = { ...again, metadata: pending[metadataAt]!.metadata };
        else events.splice(metadataAt, 1);
        return events;
      }
      return pending;
    };

    const appended = this.store.appendMany
      ? await this.writeTogether(sessionId, userHalves, decideSession, { session: loaded, users: readUsers })
      : await this.writeUserFirst(sessionId, userHalves, decideSession);
    const last = appended[appended.length - 1];
    if (!last) throw internal('SESSION-NoEv1', 'Errors.Internal');
    return {
      sessionId,
      details: { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: ctx.caller.instanceId },
      sessionToken: token.token,
      ...(returnedCode !== undefined ? { challenges: { otpEmail: returnedCode } } : {}),
    };
  }

  /**
   * Where the store appends several streams at once (PostgreSQL, PGlite): the user halves and
   * the session's events in one `appendMany`, all or nothing, so a success is never recorded on
   * the user without its check on the session, nor a send counted without its challenge. The
   * first attempt decides on the states this request has already read (`known`): each part is
   * appended at the revision it was decided on, so a change since then is a conflict. Every
   * further attempt reads the user and the session again and decides again; a conflict on
   * either stream is another attempt. A failed check writes only the user stream (the count,
   * the lockout) and is then thrown: the session gets nothing.
   */
  private async writeTogether(
    sessionId: string,
    halves: readonly UserHalf[],
    decideSession: (fresh: SessionState) => NewEvent<SessionEvent>[],
    known: { session: SessionState; users: ReadonlyMap<string, UserState> },
  ): Promise<AppendedEvent[]> {
    const attempts = SESSION_WRITE_RETRY.attempts ?? DEFAULT_ATTEMPTS;
    for (let attempt = 1; ; attempt++) {
      try {
        // A check and a challenge for the same user are one part: decided one after the other
        // on the user's state, the second on the state the first leaves.
        const users = new Map<string, { state: UserState; readAt: number; events: NewEvent<UserEvent>[] }>();
        for (const half of halves) {
          const stream = userStream(half.userId);
          let user = users.get(stream);
          if (!user) {
            const state = (attempt === 1 ? known.users.get(half.userId) : undefined) ?? foldUser(await readStreamOf<UserEvent>(this.store, stream));
            user = { state, readAt: state.version, events: [] };
            users.set(stream, user);
          }
          const { events, failure } = half.decide(user.state);
          if (failure) {
            await this.store.append(stream, [...user.events, ...events], user.readAt);
            throw failure;
          }
          user.events.push(...events);
          user.state = events.reduce((state: UserState, event) => evolveUser(state, event), user.state);
        }
        const session = attempt === 1 ? known.session : foldSession(await readStreamOf<SessionEvent>(this.store, sessionStream(sessionId)));
        const parts: StreamAppend[] = [
          ...[...users].filter(([, user]) => user.events.length > 0).map(([stream, user]) => ({ stream, events: user.events, expectedRevision: user.readAt })),
          { stream: sessionStream(sessionId), events: decideSession(session), expectedRevision: session.version },
        ];
        const results = await this.store.appendMany!(parts);
        return results[results.length - 1]!.events;
      } catch (err) {
        if (!(err instanceof WrongExpectedVersionError)) throw err;
        if (attempt >= attempts) throw aborted('COMMAND-Conc1', 'Errors.ConcurrentWrite');
        const delay = backoffDelayMs(SESSION_WRITE_RETRY.backoff, attempt);
        if (delay > 0) await sleep(delay);
      }
    }
  }

  /**
   * Without multi-stream appends (EventStoreDB): each user half on the user stream first, each
   * with that stream's expected revision, then the session's events with the session's. A crash
   * or a failed session append in between leaves the user half alone: a success without the
   * session's check (the same correct code works again, single use being the session's), or a
   * send counted without its challenge (the limit errs on the safe side). See docs/sessions.md.
   */
  private async writeUserFirst(
    sessionId: string,
    halves: readonly UserHalf[],
    decideSession: (fresh: SessionState) => NewEvent<SessionEvent>[],
  ): Promise<AppendedEvent[]> {
    for (const half of halves) {
      const { result: failure } = await decideOnStream(
        this.store,
        userStream(half.userId),
        foldUser,
        (user) => {
          const { events, failure } = half.decide(user);
          return { events, result: failure };
        },
        SESSION_WRITE_RETRY,
      );
      // The failure is on the user stream now (and the lockout, if reached); the session gets nothing.
      if (failure) throw failure;
    }
    const { appended } = await decideOnStream(
      this.store,
      sessionStream(sessionId),
      foldSession,
      (fresh) => ({ events: decideSession(fresh), result: undefined }),
      SESSION_WRITE_RETRY,
    );
    return appended;
  }

  private async resolveUser(search: UserSearch): Promise<string> {
    const userId = 'userId' in search ? search.userId : search.loginName ? await usernameHolder(this.store, search.loginName) : undefined;
    if (!userId) throw notFound(SessionErrorId.UserNotFound, 'Errors.User.NotFound');
    return userId;
  }
}

const notFoundChallenge = () => failedPrecondition('COMMAND-S34gh', 'Errors.User.Code.NotFound');

/**
 * Details of a session as it is (no new event): its last event; for a session that does not
 * exist, sequence 0 and no date (the API leaves the date out, as ZITADEL does for an empty write
 * model). The resource owner of every session is the instance, as in ZITADEL.
 */
export function detailsOf(session: SessionState, context: CommandContext): ObjectDetails {
  return {
    sequence: session.version,
    changeDate: session.changedAt ?? new Date(0),
    resourceOwner: context.caller.instanceId,
  };
}
