import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AddMachineUserHandler, AddPersonalAccessTokenHandler, CreateOrgHandler } from './handlers.js';

/**
 * The organization and machine-user commands on the CommandBus: CreateOrgCommand,
 * AddMachineUserCommand, AddPersonalAccessTokenCommand. Needs the global EVENT_STORE.
 */
@Module({
  imports: [CqrsModule.forRoot()],
  providers: [CreateOrgHandler, AddMachineUserHandler, AddPersonalAccessTokenHandler],
})
export class OrgModule {}
