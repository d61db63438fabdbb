import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CODE_CIPHER, type CodeCipher } from '#crypto';
import { generateAlphanumericCode } from '#crypto';
import { aborted, alreadyExists, internal } from '#errors';
import { EVENT_STORE, WrongExpectedVersionError, type AppendedEvent, type EventStore, type StreamAppend } from '#eventstore';
import { assertAppendable, CLOCK, newId, readStreamOf, type Clock, type EventMetadata } from '#kernel';
import { claimUsername, planUsernameClaim, releaseUsername, usernameHolder } from '../usernames.js';
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
    const metadata = eventMetadata(input, orgId);
    const user: StreamAppend = { stream: userStream(userId), events, expectedRevision: 'no_stream' };
    // Everything that can be refused is refused here, before the first append: a failed
    // request leaves neither a claim nor a claim and its release behind.
    assertAppendable([user]);
    const appended = this.store.appendMany
      ? await this.claimAndCreate(username, userId, metadata, user)
      : await this.claimThenCreate(username, userId, metadata, user);
    const last = appended[appended.length - 1]!;
    return {
      userId,
      details: { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: orgId },
      ...(input.verification.kind === 'return' ? { emailCode: plain } : {}),
    };
  }

  private claimOptions() {
    return { now: this.clock.now() };
  }

  /** The claim and the user in one multi-stream append: both or neither. */
  private async claimAndCreate(username: string, userId: string, metadata: EventMetadata, user: StreamAppend): Promise<AppendedEvent[]> {
    for (let attempt = 1; ; attempt++) {
      const claim = await planUsernameClaim(this.store, username, userId, metadata, this.claimOptions());
      const parts = [...claim, user];
      assertAppendable(parts);
      try {
        const results = await this.store.appendMany!(parts);
        return results[results.length - 1]!.events;
      } catch (err) {
        if (!(err instanceof WrongExpectedVersionError)) throw err;
        if (err.stream === user.stream) throw userAlreadyExists();
        // Another claim of the name (or of an abandoned holder's id) came first: decide again.
        if (attempt >= CLAIM_ATTEMPTS) throw aborted('COMMAND-Conc1', 'Errors.ConcurrentWrite');
      }
    }
  }

  /**
   * Without multi-stream appends: the claim first (so two users can never share the name), then
   * the user with 'no_stream'. A crash in between leaves a claim without user, which frees itself
   * after USERNAME_CLAIM_TTL_MS (planUsernameClaim). A user append that comes later than that
   * finds its stream fenced and fails, so the name never has two holders.
   */
  private async claimThenCreate(username: string, userId: string, metadata: EventMetadata, user: StreamAppend): Promise<AppendedEvent[]> {
    await claimUsername(this.store, username, userId, metadata, this.claimOptions());
    try {
      // Cheap re-check that the claim still stands (the fence is what makes it safe).
      if ((await usernameHolder(this.store, username)) !== userId) throw usernameTaken();
      return (await this.store.append(user.stream, user.events, user.expectedRevision)).events;
    } catch (err) {
      await releaseUsername(this.store, username, userId, metadata).catch(() => undefined);
      if (err instanceof WrongExpectedVersionError) {
        const state = foldUser(await readStreamOf<UserEvent>(this.store, user.stream));
        throw state.abandoned ? usernameTaken() : userAlreadyExists();
      }
      throw err;
    }
  }
}

const CLAIM_ATTEMPTS = 5;
const userAlreadyExists = () => alreadyExists('COMMAND-7yiox', 'Errors.User.AlreadyExists');
const usernameTaken = () => alreadyExists('V3-DKcYh', 'Errors.User.AlreadyExists');
