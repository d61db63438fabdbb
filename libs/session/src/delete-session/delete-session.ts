import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { EVENT_STORE, type EventStore, type NewEvent } from '#eventstore';
import { eventMetadata, type CommandContext } from '#kernel';
import { decideOnStream } from '#kernel';
import type { ObjectDetails } from '#kernel';
import { authorizeSessionDelete } from '../authorize.js';
import { SessionEventType, sessionStream, type SessionEvent } from '../events.js';
import { detailsOf } from '../session-changes.js';
import { foldSession, type SessionState } from '../session-state.js';

export interface DeleteSessionInput extends CommandContext {
  sessionId: string;
  /** Optional: the current token lets anyone terminate the session (see authorizeSessionDelete). */
  sessionToken?: string;
}

/** zitadel.session.v2.SessionService.DeleteSession: terminates the session; its token stops working. */
export class DeleteSessionCommand extends Command<ObjectDetails> {
  constructor(readonly input: DeleteSessionInput) {
    super();
  }
}

/**
 * The caller's right first (token, self, or the permission; a token for a session that does not
 * exist is never the current one); then, as ZITADEL's TerminateSession, a session that does not
 * exist or is already terminated is no error and writes nothing: the answer is its details as
 * they are.
 */
export function decideTerminateSession(session: SessionState, input: DeleteSessionInput): NewEvent<SessionEvent>[] {
  authorizeSessionDelete(input.caller, session, input.sessionToken);
  if (!session.exists || session.terminated) return [];
  return [{ type: SessionEventType.Terminated, data: {}, metadata: eventMetadata(input, session.resourceOwner ?? input.caller.orgId) }];
}

@CommandHandler(DeleteSessionCommand)
export class DeleteSessionHandler implements ICommandHandler<DeleteSessionCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ input }: DeleteSessionCommand): Promise<ObjectDetails> {
    const { state, appended } = await decideOnStream(this.store, sessionStream(input.sessionId), foldSession, (session) => ({
      events: decideTerminateSession(session, input),
      result: undefined,
    }));
    const last = appended[appended.length - 1];
    if (!last) return detailsOf(state, input);
    return { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: input.caller.instanceId };
  }
}
