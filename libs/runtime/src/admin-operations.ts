import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { Caller, Role } from '#access';
import { AddMachineUserCommand } from '#org';
import { AddPersonalAccessTokenCommand } from '#org';
import { CreateOrgCommand } from '#org';

export interface CreateMachineUserRequest {
  name: string;
  role: Role;
  /** Defaults to the caller's organization. */
  orgId?: string;
  /** Defaults to the name, lower case, white space turned into "-". */
  username?: string;
  description?: string;
}

export interface CreatedMachineUser {
  userId: string;
  tokenId: string;
  /** Shown once. */
  token: string;
}

export const usernameFromName = (name: string) => name.trim().toLowerCase().replace(/\s+/g, '-');

/**
 * What operators do, as commands on the CommandBus, for a given caller: the admin routes run
 * these for the token's caller, the CLI on the database for the system caller. The same
 * permission checks apply either way (in the commands).
 */
@Injectable()
export class AdminOperations {
  constructor(@Inject(CommandBus) private readonly bus: CommandBus) {}

  async createOrg(caller: Caller, name: string): Promise<{ orgId: string }> {
    const { orgId } = await this.bus.execute(new CreateOrgCommand({ name, context: { caller } }));
    return { orgId };
  }

  /** A machine user with one role and a personal access token. */
  async createMachineUser(caller: Caller, request: CreateMachineUserRequest): Promise<CreatedMachineUser> {
    const context = { caller };
    const { userId } = await this.bus.execute(
      new AddMachineUserCommand({
        username: request.username ?? usernameFromName(request.name ?? ''),
        name: request.name,
        ...(request.description ? { description: request.description } : {}),
        ...(request.orgId ? { orgId: request.orgId } : {}),
        roles: [{ role: request.role }],
        context,
      }),
    );
    const { tokenId, token } = await this.bus.execute(new AddPersonalAccessTokenCommand({ userId, context }));
    return { userId, tokenId, token };
  }
}
