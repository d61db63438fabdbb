import { Inject, Injectable, Optional } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { hasPermission, type Caller, type Role } from '#access';
import { PERSONAL_DATA_KEYS, type PersonalDataKeys } from '#crypto';
import { scrubFreedSpace, SQL_DATABASE, type SqlDatabase } from '#database';
import { failedPrecondition, notFound, permissionDenied } from '#errors';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { eventMetadata, readStreamOf } from '#kernel';
import { DELETE_USER_NOT_FOUND, DeleteUserCommand, foldUser, UserEventType, userStream, type UserEvent } from '#user';
import { erasePastPersonalData } from './erase-user.js';
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
    @Optional() @Inject(EVENT_STORE) private readonly store?: EventStore,
    @Optional() @Inject(SQL_DATABASE) private readonly database?: SqlDatabase,
    @Optional() @Inject(PERSONAL_DATA_KEYS) private readonly keys?: PersonalDataKeys,
  ) {}

  /**
   * Erases a user for good: DeleteUser first when the user still exists (its checks: NotFound,
   * then `user.delete` on the user's organization), else `user.delete` on the deleted user's
   * organization; the user's data key destroyed (again: harmless); then the personal fields its
   * events still hold in plain text from before sealing, rewritten in place
   * (erasePastPersonalData), and `user.erased` to record it.
   */
  async eraseUser(caller: Caller, userId: string): Promise<{ userId: string; rewritten: number; moved: number }> {
    if (!this.store || !this.database || !this.keys) throw failedPrecondition('USER-EraseKeys', 'Errors.User.Erase.KeysUnavailable');
    const state = foldUser(await readStreamOf<UserEvent>(this.store, userStream(userId)));
    if (state.exists) await this.bus.execute(new DeleteUserCommand({ caller, userId }));
    else if (!state.removed || !state.orgId) throw notFound(DELETE_USER_NOT_FOUND, 'Errors.User.NotFound');
    else if (!hasPermission(caller, 'user.delete', state.orgId)) throw permissionDenied('AUTH-AWfge', 'Errors.Permission.Denied');
    await this.keys.destroy(userId);
    const erasure = await erasePastPersonalData(this.store, this.database, this.keys, userId);
    await scrubFreedSpace(this.database, ['eventstore', 'projections', 'crypto']);
    await this.store.append(
      userStream(userId),
      [{ type: UserEventType.Erased, data: { rewritten: erasure.rewritten }, metadata: eventMetadata({ caller }, state.orgId!) }],
      'any',
    );
    return { userId, ...erasure };
  }

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
