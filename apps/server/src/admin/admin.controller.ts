import { Body, Controller, Headers, HttpCode, Inject, Post, UseFilters } from '@nestjs/common';
import { z } from 'zod';
import { AUTHENTICATOR, type Authenticator } from '#auth';
import { ROLES } from '#access';
import { AdminOperations } from '#runtime';
import { AdminErrorFilter, AdminRequestError } from './error-filter.js';

const createOrgBody = z.object({ name: z.string() });
const createMachineUserBody = z.object({
  name: z.string(),
  role: z.enum(ROLES as [string, ...string[]]),
  orgId: z.string().optional(),
  username: z.string().optional(),
  description: z.string().optional(),
});

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    throw new AdminRequestError(`invalid request: ${problems.join('; ')}`);
  }
  return result.data;
}

/**
 * The operators' routes (the CLI uses them when the server owns the embedded store). Every
 * call is authenticated with the AUTHENTICATOR, and the commands check the caller's
 * permissions: in practice the admin token from DATA_DIR/admin.pat.
 *
 *   POST /admin/v1/orgs            {name}                                   → 201 {orgId}
 *   POST /admin/v1/machine-users   {name, role, orgId?, username?, description?}
 *                                                                           → 201 {userId, tokenId, token}
 * Errors: {code, message, details} as the REST API writes them (401, 403, 400, 404, 409).
 */
@Controller('admin/v1')
@UseFilters(AdminErrorFilter)
export class AdminController {
  constructor(
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    @Inject(AdminOperations) private readonly operations: AdminOperations,
  ) {}

  @Post('orgs')
  @HttpCode(201)
  async createOrg(@Headers('authorization') authorization: string | undefined, @Body() body: unknown) {
    const caller = await this.authenticator.authenticate(authorization);
    const { name } = parse(createOrgBody, body);
    return this.operations.createOrg(caller, name);
  }

  @Post('machine-users')
  @HttpCode(201)
  async createMachineUser(@Headers('authorization') authorization: string | undefined, @Body() body: unknown) {
    const caller = await this.authenticator.authenticate(authorization);
    const request = parse(createMachineUserBody, body);
    return this.operations.createMachineUser(caller, request as Parameters<AdminOperations['createMachineUser']>[1]);
  }
}
