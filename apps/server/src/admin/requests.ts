import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { ROLES, type Role } from '#access';
import { problem } from './validation.js';

// The bodies and path parameters of the admin routes, checked by the ValidationPipe before a
// handler runs. Each constraint names its problem with an ErrorDetail id.

/** POST /admin/v1/orgs */
export class CreateOrgBody {
  @IsString(problem('ADMIN-OrgNm'))
  name!: string;
}

/** POST /admin/v1/machine-users */
export class CreateMachineUserBody {
  @IsString(problem('ADMIN-MuNam'))
  name!: string;

  @IsIn([...ROLES], problem('ADMIN-MuRol'))
  role!: Role;

  @IsOptional()
  @IsString(problem('ADMIN-MuOrg'))
  orgId?: string;

  @IsOptional()
  @IsString(problem('ADMIN-MuUsr'))
  username?: string;

  @IsOptional()
  @IsString(problem('ADMIN-MuDsc'))
  description?: string;
}

/** Ids of users and tokens: letters, digits and "-" (what ids and token ids are made of). */
const ID = /^[0-9A-Za-z-]{1,64}$/;

/** The :userId of GET /admin/v1/machine-users/:userId/tokens */
export class MachineUserParams {
  @Matches(ID, problem('ADMIN-MuUid'))
  userId!: string;
}

/** DELETE /admin/v1/machine-users/:userId/tokens/:tokenId */
export class TokenParams {
  @Matches(ID, problem('ADMIN-MuUid'))
  userId!: string;

  @Matches(ID, problem('ADMIN-MuTid'))
  tokenId!: string;
}

/** DELETE /admin/v1/machine-users/:userId/roles/:role */
export class RoleParams {
  @Matches(ID, problem('ADMIN-MuUid'))
  userId!: string;

  @IsIn([...ROLES], problem('ADMIN-MuRol'))
  role!: Role;
}

/** ?orgId= of DELETE /admin/v1/machine-users/:userId/roles/:role (an organization role's organization). */
export class RemoveRoleQuery {
  @IsOptional()
  @Matches(ID, problem('ADMIN-MuOrg'))
  orgId?: string;
}

/** POST /admin/v1/projections/:name/replay */
export class ReplayBody {
  @IsOptional()
  @IsInt(problem('ADMIN-RpBat'))
  @Min(1, problem('ADMIN-RpBat'))
  @Max(100_000, problem('ADMIN-RpBat'))
  batchSize?: number;
}

/**
 * The :name of the projection routes. A projection's name is a lower-case identifier (its
 * tables are named after it); a well-formed name that is no projection is a 404, not this.
 */
export class ProjectionParams {
  @Matches(/^[a-z][a-z0-9_]{0,62}$/, problem('ADMIN-PrjNm'))
  name!: string;
}
