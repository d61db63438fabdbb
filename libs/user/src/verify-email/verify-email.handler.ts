import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CODE_CIPHER, type CodeCipher } from '#crypto';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { invalidArgument } from '#errors';
import { CLOCK, decideOnStream, type Clock } from '#kernel';
import { userStream } from '../events.js';
import { foldUser } from '../user-state.js';
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
    if (!input.userId) throw invalidArgument('COMMAND-Sdf21', 'Errors.User.UserIDMissing');
    // A wrong code is written (it counts against the code) and then refused.
    const { state, result: refusal, appended } = await decideOnStream(this.store, userStream(input.userId), foldUser, (s) =>
      decideVerifyEmail(s, input, (value) => this.cipher.decrypt(value), this.clock.now()),
    );
    if (refusal) throw refusal;
    const last = appended[appended.length - 1]!;
    return { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: state.orgId! };
  }
}
