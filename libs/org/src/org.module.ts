import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { clockProvider } from '#kernel';
import { AddMachineUserHandler, AddPersonalAccessTokenHandler, CreateOrgHandler } from './handlers.js';

/**
 * The organization and machine-user commands on the CommandBus: CreateOrgCommand,
 * AddMachineUserCommand, AddPersonalAccessTokenCommand. Needs the global EVENT_STORE; reads the
 * time (a token's expiry) from CLOCK.
 */
@Module({
  imports: [CqrsModule.forRoot()],
  providers: [clockProvider, CreateOrgHandler, AddMachineUserHandler, AddPersonalAccessTokenHandler],
})
export class OrgModule {}
