import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { readStreamOf, type CommandContext } from '#kernel';
import { foldUser, userStream, type UserEvent, type UserState } from '#user';
import { authorizeSessionWrite } from '../authorize.js';
import { sessionExpiredError, sessionNotFound, sessionTerminated } from '../errors.js';
import { sessionStream, type SessionEvent } from '../events.js';
import { SessionChangeRunner, type SessionChangeResult, type SessionChanges } from '../session-changes.js';
import { foldSession, sessionExpired, type SessionState } from '../session-state.js';

export interface SetSessionInput extends CommandContext {
  sessionId: string;
  changes: SessionChanges;
}

/** zitadel.session.v2.SessionService.SetSession: more checks and challenges on a session, and a new token. */
export class SetSessionCommand extends Command<SessionChangeResult> {
  constructor(readonly input: SetSessionInput) {
    super();
  }
}

/**
 * Before any change: the caller may write the session (PermissionDenied `AUTH-AWfge`), it is not
 * terminated (FailedPrecondition `COMMAND-Hewfq`) and its lifetime has not run out
 * (FailedPrecondition `COMMAND-Hkl3d`), ZITADEL's CheckNotInvalidated. A session that does not
 * exist answers as ZITADEL's: nothing to change → its (empty) details; an OTP Email check →
 * `COMMAND-S453v` and a challenge → `COMMAND-JK3gp` (there is no user); a user check or a
 * lifetime, which ZITADEL would write onto a session never created, → NotFound `QUERY-SFeaa`.
 * A bad URL template is refused before all of these, as ZITADEL's API layer does.
 */
export function assertSessionWritable(session: SessionState, input: SetSessionInput, now: Date): void {
  authorizeSessionWrite(input.caller, session);
  if (!session.exists) {
    if (input.changes.checks?.user || input.changes.lifetimeMs !== undefined) throw sessionNotFound();
    return;
  }
  if (session.terminated) throw sessionTerminated();
  if (sessionExpired(session, now)) throw sessionExpiredError();
}

@CommandHandler(SetSessionCommand)
export class SetSessionHandler implements ICommandHandler<SetSessionCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SessionChangeRunner) private readonly runner: SessionChangeRunner,
  ) {}

  async execute({ input }: SetSessionCommand): Promise<SessionChangeResult> {
    SessionChangeRunner.validate(input.changes);
    const now = this.runner.now();
    const session = foldSession(await readStreamOf<SessionEvent>(this.store, sessionStream(input.sessionId)));
    assertSessionWritable(session, input, now);
    // The sessions of a deleted user ended with it: as a terminated session.
    const users = new Map<string, UserState>();
    if (session.user) {
      const user = foldUser(await readStreamOf<UserEvent>(this.store, userStream(session.user.id)));
      if (user.removed) throw sessionTerminated();
      users.set(session.user.id, user);
    }
    return this.runner.run(input.sessionId, session, input.changes, input, now, { users });
  }
}
