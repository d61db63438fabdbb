import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Caller } from '#access';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { readStreamOf } from '#kernel';
import { userStream, type UserEvent } from '#user';
import { foldUser, type UserState } from '#user';
import { authorizeSessionRead } from '../authorize.js';
import { sessionNotFound } from '../errors.js';
import { sessionStream, type SessionEvent, type SessionUserAgent } from '../events.js';
import { foldSession, type SessionState } from '../session-state.js';

export interface GetSessionInput {
  caller: Caller;
  sessionId: string;
  sessionToken?: string;
}

/** zitadel.session.v2.Session in domain terms. */
export interface SessionView {
  id: string;
  creationDate: Date;
  changeDate: Date;
  sequence: number;
  factors: {
    user?: { verifiedAt: Date; id: string; loginName: string; displayName: string; organizationId: string };
    otpEmail?: { verifiedAt: Date };
  };
  userAgent?: SessionUserAgent;
  expirationDate?: Date;
  /** Keys to raw values. */
  metadata: Record<string, Uint8Array>;
}

/** zitadel.session.v2.SessionService.GetSession, read from the session stream itself (no projection). */
export class GetSessionQuery extends Query<SessionView> {
  constructor(readonly input: GetSessionInput) {
    super();
  }
}

/**
 * The view of a session. The user factor shows the user's CURRENT login name and display name
 * (as ZITADEL's projection joins them), falling back to the login name of the check.
 */
export function sessionView(id: string, session: SessionState, user: UserState | undefined): SessionView {
  const factors: SessionView['factors'] = {};
  if (session.user) {
    factors.user = {
      verifiedAt: new Date(session.user.checkedAt),
      id: session.user.id,
      loginName: user?.username ?? session.user.loginName,
      displayName: user?.profile?.displayName ?? '',
      organizationId: session.user.orgId,
    };
  }
  if (session.otpEmailCheckedAt) factors.otpEmail = { verifiedAt: new Date(session.otpEmailCheckedAt) };
  return {
    id,
    creationDate: session.createdAt!,
    changeDate: session.changedAt!,
    sequence: session.version,
    factors,
    ...(session.userAgent ? { userAgent: session.userAgent } : {}),
    ...(session.expiresAt ? { expirationDate: new Date(session.expiresAt) } : {}),
    metadata: Object.fromEntries(Object.entries(session.metadata).map(([key, value]) => [key, new Uint8Array(Buffer.from(value, 'base64'))])),
  };
}

/**
 * Unknown AND terminated sessions are NotFound `QUERY-SFeaa`: ZITADEL removes a terminated
 * session from its read model, so its GetSession answers NotFound for both. A session whose
 * user was deleted counts as terminated (after the caller's right, so that it tells a stranger
 * nothing more than an existing session would). Then the caller's
 * right (authorizeSessionRead). An expired session is still returned, with its expirationDate.
 */
@QueryHandler(GetSessionQuery)
export class GetSessionHandler implements IQueryHandler<GetSessionQuery> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ input }: GetSessionQuery): Promise<SessionView> {
    const session = foldSession(await readStreamOf<SessionEvent>(this.store, sessionStream(input.sessionId)));
    if (!session.exists || session.terminated) throw sessionNotFound();
    authorizeSessionRead(input.caller, session, input.sessionToken);
    const user = session.user ? foldUser(await readStreamOf<UserEvent>(this.store, userStream(session.user.id))) : undefined;
    // The sessions of a deleted user ended with it (DeleteUser): gone, as a terminated one.
    if (user?.removed) throw sessionNotFound();
    return sessionView(input.sessionId, session, user);
  }
}
