import { Inject, Injectable } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { Caller, Role } from '#access';
import { AddMachineUserCommand } from '#org';
import { AddPersonalAccessTokenCommand } from '#org';
import { CreateOrgCommand } from '#org';
import { ListPersonalAccessTokensQuery, RemoveMemberRoleCommand, RemovePersonalAccessTokenCommand } from '#org';
import { SweepUsernameClaimsCommand, type UsernameSweep } from '#user';

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

/** A token as listed: ids and times, never the token. */
export interface ListedToken {
  tokenId: string;
  createdAt: string;
  /** Absent: the token does not expire. */
  expiresAt?: string;
}

export const usernameFromName = (name: string) => name.trim().toLowerCase().replace(/\s+/g, '-');

/**
 * What operators do, as commands on the CommandBus, for a given caller: the admin routes run
 * these for the token's caller, the CLI on the database for the system caller. The same
 * permission checks apply either way (in the commands).
 */
@Injectable()
export class AdminOperations {
  constructor(
    @Inject(CommandBus) private readonly bus: CommandBus,
    @Inject(QueryBus) private readonly queries: QueryBus,
  ) {}

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

  /** A machine user's tokens: ids, creation and expiry. */
  async listTokens(caller: Caller, userId: string): Promise<{ tokens: ListedToken[] }> {
    const tokens = await this.queries.execute(new ListPersonalAccessTokensQuery({ userId, context: { caller } }));
    return {
      tokens: tokens.map((t) => ({ tokenId: t.tokenId, createdAt: t.createdAt.toISOString(), ...(t.expiresAt ? { expiresAt: t.expiresAt.toISOString() } : {}) })),
    };
  }

  /** Revokes one token; the next request with it is refused. */
  async revokeToken(caller: Caller, userId: string, tokenId: string): Promise<{ userId: string; tokenId: string }> {
    await this.bus.execute(new RemovePersonalAccessTokenCommand({ userId, tokenId, context: { caller } }));
    return { userId, tokenId };
  }

  /** Takes a role away (on `orgId`, by default the user's organization, for an organization role). */
  async removeRole(caller: Caller, userId: string, role: Role, orgId?: string): Promise<{ userId: string; role: Role; orgId?: string }> {
    await this.bus.execute(new RemoveMemberRoleCommand({ userId, role, ...(orgId ? { orgId } : {}), context: { caller } }));
    return { userId, role, ...(orgId ? { orgId } : {}) };
  }

  /** Frees the username claims whose user never appeared (older than the claim TTL); idempotent. */
  async sweepUsernameClaims(caller: Caller): Promise<UsernameSweep> {
    return this.bus.execute(new SweepUsernameClaimsCommand({ caller }));
  }
}
