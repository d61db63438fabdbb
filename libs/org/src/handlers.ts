import { Inject } from '@nestjs/common';
import { CommandHandler, QueryHandler, type ICommandHandler, type IQueryHandler } from '@nestjs/cqrs';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { CLOCK, type Clock } from '#kernel';
import { addMachineUser, AddMachineUserCommand, type AddMachineUserResult } from './add-machine-user.js';
import {
  addPersonalAccessToken,
  AddPersonalAccessTokenCommand,
  type AddPersonalAccessTokenResult,
} from './add-personal-access-token.js';
import { createOrg, CreateOrgCommand, type CreateOrgResult } from './create-org.js';
import {
  listPersonalAccessTokens,
  ListPersonalAccessTokensQuery,
  removeMemberRole,
  RemoveMemberRoleCommand,
  removePersonalAccessToken,
  RemovePersonalAccessTokenCommand,
  type PersonalAccessTokenInfo,
} from './revoke.js';
import type { ObjectDetails } from '#kernel';

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

@QueryHandler(ListPersonalAccessTokensQuery)
export class ListPersonalAccessTokensHandler implements IQueryHandler<ListPersonalAccessTokensQuery> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ input }: ListPersonalAccessTokensQuery): Promise<PersonalAccessTokenInfo[]> {
    return listPersonalAccessTokens(this.store, input);
  }
}

@CommandHandler(RemovePersonalAccessTokenCommand)
export class RemovePersonalAccessTokenHandler implements ICommandHandler<RemovePersonalAccessTokenCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ input }: RemovePersonalAccessTokenCommand): Promise<{ details: ObjectDetails }> {
    return removePersonalAccessToken(this.store, input);
  }
}

@CommandHandler(RemoveMemberRoleCommand)
export class RemoveMemberRoleHandler implements ICommandHandler<RemoveMemberRoleCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}
  execute({ input }: RemoveMemberRoleCommand): Promise<{ details: ObjectDetails }> {
    return removeMemberRole(this.store, input);
  }
}
