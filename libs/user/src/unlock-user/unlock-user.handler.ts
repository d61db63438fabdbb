import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { executeUserCommand } from '../execute-user-command.js';
import type { ObjectDetails } from '#kernel';
import { decideUnlockUser, UNLOCK_USER_MISSING_ID, UnlockUserCommand } from './unlock-user.js';

@CommandHandler(UnlockUserCommand)
export class UnlockUserHandler implements ICommandHandler<UnlockUserCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ input }: UnlockUserCommand): Promise<ObjectDetails> {
    const { details } = await executeUserCommand(this.store, input.userId, UNLOCK_USER_MISSING_ID, (state) => decideUnlockUser(state, input), {
      personalData: false,
    });
    return details;
  }
}

