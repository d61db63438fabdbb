import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { executeUserCommand } from '../execute-user-command.js';
import type { ObjectDetails } from '#kernel';
import { AddOtpEmailCommand, decideAddOtpEmail } from './add-otp-email.js';

@CommandHandler(AddOtpEmailCommand)
export class AddOtpEmailHandler implements ICommandHandler<AddOtpEmailCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ input }: AddOtpEmailCommand): Promise<ObjectDetails> {
    const { details } = await executeUserCommand(this.store, input.userId, 'COMMAND-Sg1hz', (state) => decideAddOtpEmail(state, input), {
      personalData: false,
    });
    return details;
  }
}
