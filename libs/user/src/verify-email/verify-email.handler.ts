import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CODE_CIPHER, type CodeCipher } from '#crypto';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { CLOCK, type Clock } from '#kernel';
import { executeUserCommand } from '../execute-user-command.js';
import type { ObjectDetails } from '#kernel';
import { decideVerifyEmail, VerifyEmailCommand } from './verify-email.js';

@CommandHandler(VerifyEmailCommand)
export class VerifyEmailHandler implements ICommandHandler<VerifyEmailCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CODE_CIPHER) private readonly cipher: CodeCipher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ input }: VerifyEmailCommand): Promise<ObjectDetails> {
    const { details } = await executeUserCommand(this.store, input.userId, 'COMMAND-Sdf21', (state) =>
      decideVerifyEmail(state, input, (value) => this.cipher.decrypt(value), this.clock.now()),
    );
    return details;
  }
}
