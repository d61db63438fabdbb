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
