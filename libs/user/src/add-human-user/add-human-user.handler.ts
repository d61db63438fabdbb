import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CODE_CIPHER, type CodeCipher } from '#crypto';
import { generateAlphanumericCode } from '#crypto';
import { alreadyExists, internal } from '#errors';
import { EVENT_STORE, WrongExpectedVersionError, type EventStore } from '#eventstore';
import { CLOCK, newId, readStreamOf, type Clock } from '#kernel';
import { claimUsername, releaseUsername } from '../usernames.js';
import { eventMetadata } from '#kernel';
import { EMAIL_CODE_LENGTH } from '../email-code.js';
import { UserEventType, userStream, type UserEvent } from '../events.js';
import { foldUser } from '../user-state.js';
import { AddHumanUserCommand, decideAddHumanUser, type AddHumanUserResult } from './add-human-user.js';

@CommandHandler(AddHumanUserCommand)
export class AddHumanUserHandler implements ICommandHandler<AddHumanUserCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CODE_CIPHER) private readonly cipher: CodeCipher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ input }: AddHumanUserCommand): Promise<AddHumanUserResult> {
    const userId = input.userId?.trim() || newId();
    const orgId = input.orgId?.trim() || input.requestOrgId || input.caller.orgId;
    const plain = generateAlphanumericCode(EMAIL_CODE_LENGTH);
    const [orgEvents, userEvents] = await Promise.all([
      this.store.readStream(`org-${orgId}`),
      readStreamOf<UserEvent>(this.store, userStream(userId)),
    ]);
    const events = decideAddHumanUser(input, {
      userId,
      orgId,
      orgExists: orgEvents.length > 0,
      existing: foldUser(userEvents),
      code: { plain, encrypted: this.cipher.encrypt(plain) },
      now: this.clock.now(),
    });
    const added = events[0];
    if (added?.type !== UserEventType.HumanAdded) throw internal('COMMAND-NoEv2', 'Errors.Internal');
    const { username } = added.data;

    // The username is claimed first (its own stream, 'no_stream'), so two users can never
    // share it; if the user cannot then be written, the claim is given back.
    const metadata = eventMetadata(input, orgId);
    await claimUsername(this.store, username, userId, metadata);
    let appended;
    try {
      ({ events: appended } = await this.store.append(userStream(userId), events, 'no_stream'));
    } catch (err) {
      await releaseUsername(this.store, username, userId, metadata).catch(() => undefined);
      if (err instanceof WrongExpectedVersionError) throw alreadyExists('COMMAND-7yiox', 'Errors.User.AlreadyExists');
      throw err;
    }
    const last = appended[appended.length - 1]!;
    return {
      userId,
      details: { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: orgId },
      ...(input.verification.kind === 'return' ? { emailCode: plain } : {}),
    };
  }
}
