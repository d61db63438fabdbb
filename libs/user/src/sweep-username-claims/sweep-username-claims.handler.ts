import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { CLOCK, type Clock } from '#kernel';
import { sweepOrphanedUsernameClaims, SweepUsernameClaimsCommand, type UsernameSweep } from './sweep-username-claims.js';

@CommandHandler(SweepUsernameClaimsCommand)
export class SweepUsernameClaimsHandler implements ICommandHandler<SweepUsernameClaimsCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ input }: SweepUsernameClaimsCommand): Promise<UsernameSweep> {
    return sweepOrphanedUsernameClaims(this.store, input, { now: this.clock.now() });
  }
}
