import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { clockProvider } from '#kernel';
import {
  AddMachineUserHandler,
  AddPersonalAccessTokenHandler,
  CreateOrgHandler,
  ListPersonalAccessTokensHandler,
  RemoveMemberRoleHandler,
  RemovePersonalAccessTokenHandler,
} from './handlers.js';

/**
 * The organization and machine-user commands on the CommandBus: CreateOrgCommand,
 * AddMachineUserCommand, AddPersonalAccessTokenCommand, RemovePersonalAccessTokenCommand,
 * RemoveMemberRoleCommand; on the QueryBus ListPersonalAccessTokensQuery. Needs the global EVENT_STORE; reads the
 * time (a token's expiry) from CLOCK.
 */
@Module({
  imports: [CqrsModule.forRoot()],
  providers: [
    clockProvider,
    CreateOrgHandler,
    AddMachineUserHandler,
    AddPersonalAccessTokenHandler,
    ListPersonalAccessTokensHandler,
    RemovePersonalAccessTokenHandler,
    RemoveMemberRoleHandler,
  ],
})
export class OrgModule {}
