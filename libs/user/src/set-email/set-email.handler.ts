import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CODE_CIPHER, type CodeCipher } from '#crypto';
import { generateAlphanumericCode } from '#crypto';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { CLOCK, type Clock } from '#kernel';
import { EMAIL_CODE_LENGTH } from '../email-code.js';
import { executeUserCommand } from '../execute-user-command.js';
import { decideSetEmail, SetEmailCommand, type SetEmailResult } from './set-email.js';

@CommandHandler(SetEmailCommand)
export class SetEmailHandler implements ICommandHandler<SetEmailCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CODE_CIPHER) private readonly cipher: CodeCipher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ input }: SetEmailCommand): Promise<SetEmailResult> {
    const plain = generateAlphanumericCode(EMAIL_CODE_LENGTH);
    const code = { plain, encrypted: this.cipher.encrypt(plain) };
    const { details } = await executeUserCommand(this.store, input.userId, 'COMMAND-Sfe1s', (state) =>
      decideSetEmail(state, input, code, this.clock.now()),
    );
    return { details, ...(input.verification.kind === 'return' ? { verificationCode: plain } : {}) };
  }
}
