import { Inject, Optional } from '@nestjs/common';
import { PERSONAL_DATA_KEYS, type PersonalDataEraser } from '#crypto';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { aborted, internal, invalidArgument } from '#errors';
import { EVENT_STORE, WrongExpectedVersionError, type AppendedEvent, type EventStore, type StreamAppend } from '#eventstore';
import { assertAppendable, eventMetadata, readStreamOf, type ObjectDetails } from '#kernel';
import { userStream, type UserEvent } from '../events.js';
import { foldUser } from '../user-state.js';
import { planUsernameRelease } from '../usernames.js';
import { DELETE_USER_MISSING_ID, DeleteUserCommand, decideDeleteUser } from './delete-user.js';

const ATTEMPTS = 5;

/**
 * Writes `user.removed`, gives the username back and destroys the user's data key: in one append where the store appends
 * several streams at once; elsewhere the removal first (a claim left behind by a crash in
 * between is freed by the next claimer, see planUsernameClaim). A conflict on either stream
 * decides again on the latest state.
 */
@CommandHandler(DeleteUserCommand)
export class DeleteUserHandler implements ICommandHandler<DeleteUserCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Optional() @Inject(PERSONAL_DATA_KEYS) private readonly keys?: PersonalDataEraser,
  ) {}

  async execute({ input }: DeleteUserCommand): Promise<ObjectDetails> {
    if (!input.userId) throw invalidArgument(DELETE_USER_MISSING_ID, 'Errors.User.UserIDMissing');
    const stream = userStream(input.userId);
    for (let attempt = 1; ; attempt++) {
      const state = foldUser(await readStreamOf<UserEvent>(this.store, stream));
      const events = decideDeleteUser(state, input);
      const metadata = eventMetadata(input, state.orgId!);
      const removal: StreamAppend = { stream, events, expectedRevision: state.version };
      const release = state.username ? await planUsernameRelease(this.store, state.username, input.userId, metadata) : [];
      try {
        const last = (await this.write(removal, release)).at(-1);
        if (!last || !state.orgId) throw internal('COMMAND-NoEv1', 'Errors.Internal');
        // The user's key last, once nothing of the user will be written any more: every event of
        // theirs sealed under it is unreadable from now on (crypto-shredding).
        await this.keys?.destroy(input.userId);
        return { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: state.orgId };
      } catch (err) {
        if (!(err instanceof WrongExpectedVersionError)) throw err;
        if (attempt >= ATTEMPTS) throw aborted('COMMAND-Conc1', 'Errors.ConcurrentWrite');
      }
    }
  }

  /** The removal's appended events. */
  private async write(removal: StreamAppend, release: StreamAppend[]): Promise<AppendedEvent[]> {
    assertAppendable([removal, ...release]);
    if (this.store.appendMany) return (await this.store.appendMany([removal, ...release]))[0]!.events;
    const { events } = await this.store.append(removal.stream, removal.events, removal.expectedRevision);
    // The user is deleted now; a release that fails (the claim changed meanwhile) leaves a claim
    // of a deleted user behind, which holds nothing (planUsernameClaim frees it).
    for (const part of release) await this.store.append(part.stream, part.events, part.expectedRevision).catch(() => undefined);
    return events;
  }
}
