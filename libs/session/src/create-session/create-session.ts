import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { newId } from '#kernel';
import type { CommandContext } from '#kernel';
import { authorizeSessionCreate } from '../authorize.js';
import { SessionChangeRunner, type SessionChangeResult, type SessionChanges } from '../session-changes.js';
import { initialSessionState } from '../session-state.js';
import type { SessionUserAgent } from '../events.js';
import { decideUserAgent } from '../user-agent.js';

export interface CreateSessionInput extends CommandContext {
  changes: SessionChanges;
  /** The request's `userAgent`, as given. */
  userAgent?: SessionUserAgent;
  /** The address the call came from (the connection's, or a trusted proxy's X-Forwarded-For). */
  clientIp?: string;
}

/** zitadel.session.v2.SessionService.CreateSession: a new session, its checks and challenges, and its first token. */
export class CreateSessionCommand extends Command<SessionChangeResult> {
  constructor(readonly input: CreateSessionInput) {
    super();
  }
}

@CommandHandler(CreateSessionCommand)
export class CreateSessionHandler implements ICommandHandler<CreateSessionCommand> {
  constructor(@Inject(SessionChangeRunner) private readonly runner: SessionChangeRunner) {}

  async execute({ input }: CreateSessionCommand): Promise<SessionChangeResult> {
    authorizeSessionCreate(input.caller);
    SessionChangeRunner.validate(input.changes);
    const userAgent = decideUserAgent(input.userAgent, input.clientIp);
    const now = this.runner.now();
    return this.runner.run(newId(), initialSessionState(), input.changes, input, now, { start: userAgent ? { userAgent } : {} });
  }
}
