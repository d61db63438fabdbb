import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { executeUserCommand } from '../execute-user-command.js';
import type { ObjectDetails } from '#kernel';
import { decideRemoveOtpEmail, RemoveOtpEmailCommand } from './remove-otp-email.js';

@CommandHandler(RemoveOtpEmailCommand)
export class RemoveOtpEmailHandler implements ICommandHandler<RemoveOtpEmailCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ input }: RemoveOtpEmailCommand): Promise<ObjectDetails> {
    const { details } = await executeUserCommand(this.store, input.userId, 'COMMAND-S2h11', (state) => decideRemoveOtpEmail(state, input), {
      personalData: false,
    });
    return details;
  }
}
