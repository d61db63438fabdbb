import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { CLOCK, type Clock } from '#kernel';
import { addMachineUser, AddMachineUserCommand, type AddMachineUserResult } from './add-machine-user.js';
import {
  addPersonalAccessToken,
  AddPersonalAccessTokenCommand,
  type AddPersonalAccessTokenResult,
} from './add-personal-access-token.js';
import { createOrg, CreateOrgCommand, type CreateOrgResult } from './create-org.js';

@CommandHandler(CreateOrgCommand)
export class CreateOrgHandler implements ICommandHandler<CreateOrgCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ input }: CreateOrgCommand): Promise<CreateOrgResult> {
    return createOrg(this.store, input);
  }
}

@CommandHandler(AddMachineUserCommand)
export class AddMachineUserHandler implements ICommandHandler<AddMachineUserCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ input }: AddMachineUserCommand): Promise<AddMachineUserResult> {
    return addMachineUser(this.store, input);
  }
}

@CommandHandler(AddPersonalAccessTokenCommand)
export class AddPersonalAccessTokenHandler implements ICommandHandler<AddPersonalAccessTokenCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}
  execute({ input }: AddPersonalAccessTokenCommand): Promise<AddPersonalAccessTokenResult> {
    return addPersonalAccessToken(this.store, input, this.clock.now());
  }
}
