import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import type { Caller } from '#access';
import { AdminOperations } from '#runtime';
import { AuthenticatedCaller, AuthenticatedGuard } from './authenticated.guard.js';
import { CreateMachineUserBody, CreateOrgBody, MachineUserParams, RemoveRoleQuery, RoleParams, TokenParams } from './requests.js';

/**
 * The operators' routes (the CLI uses them when the server owns the embedded store). Every
 * call is authenticated with the AUTHENTICATOR, and the commands check the caller's
 * permissions: in practice the admin token from DATA_DIR/admin.pat.
 *
 *   POST /admin/v1/orgs            {name}                                   → 201 {orgId}
 *   POST /admin/v1/machine-users   {name, role, orgId?, username?, description?}
 *                                                                           → 201 {userId, tokenId, token}
 *   GET    /admin/v1/machine-users/:userId/tokens                          → 200 {tokens: [{tokenId, createdAt, expiresAt?}]}
 *   DELETE /admin/v1/machine-users/:userId/tokens/:tokenId                 → 200 {userId, tokenId}: revoked
 *   DELETE /admin/v1/machine-users/:userId/roles/:role[?orgId=]           → 200 {userId, role, orgId?}: taken away
 *   POST   /admin/v1/usernames/sweep                                      → 200 {released: [...], pending: [...]}:
 *          username claims without their user, older than the claim TTL, freed (idempotent)
 *   POST   /admin/v1/users/:userId/erase                                   → 200 {userId, rewritten, moved}: deleted,
 *          its data key destroyed, its plain personal data from before sealing rewritten in place
 * Bodies are checked by the ValidationPipe (./requests.ts); errors are answered by the
 * ApiExceptionFilter as the REST API answers them (401, 403, 400, 404, 409).
 */
@Controller('admin/v1')
@UseGuards(AuthenticatedGuard)
export class AdminController {
  constructor(@Inject(AdminOperations) private readonly operations: AdminOperations) {}

  @Post('orgs')
  @HttpCode(201)
  createOrg(@AuthenticatedCaller() caller: Caller, @Body() body: CreateOrgBody) {
    return this.operations.createOrg(caller, body.name);
  }

  @Post('machine-users')
  @HttpCode(201)
  createMachineUser(@AuthenticatedCaller() caller: Caller, @Body() body: CreateMachineUserBody) {
    const { name, role, orgId, username, description } = body;
    return this.operations.createMachineUser(caller, {
      name,
      role,
      // @IsOptional lets null through: null is "not given".
      ...(orgId != null ? { orgId } : {}),
      ...(username != null ? { username } : {}),
      ...(description != null ? { description } : {}),
    });
  }

  @Get('machine-users/:userId/tokens')
  listTokens(@AuthenticatedCaller() caller: Caller, @Param() params: MachineUserParams) {
    return this.operations.listTokens(caller, params.userId);
  }

  @Delete('machine-users/:userId/tokens/:tokenId')
  revokeToken(@AuthenticatedCaller() caller: Caller, @Param() params: TokenParams) {
    return this.operations.revokeToken(caller, params.userId, params.tokenId);
  }

  @Post('users/:userId/erase')
  @HttpCode(200)
  eraseUser(@AuthenticatedCaller() caller: Caller, @Param() params: MachineUserParams) {
    return this.operations.eraseUser(caller, params.userId);
  }

  @Delete('machine-users/:userId/roles/:role')
  removeRole(@AuthenticatedCaller() caller: Caller, @Param() params: RoleParams, @Query() query: RemoveRoleQuery) {
    return this.operations.removeRole(caller, params.userId, params.role, query.orgId ?? undefined);
  }

  @Post('usernames/sweep')
  @HttpCode(200)
  sweepUsernames(@AuthenticatedCaller() caller: Caller) {
    return this.operations.sweepUsernameClaims(caller);
  }
}
