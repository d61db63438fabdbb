import { Body, Controller, Delete, Get, HttpCode, Inject, Module, Param, Post, UseGuards } from '@nestjs/common';
import { AuthModule } from '#auth';
import { aborted, failedPrecondition, notFound } from '#errors';
import {
  NotMigratedError,
  ProjectionAdmin,
  ReplayBusyError,
  UnknownProjectionError,
  VERSIONED_PROJECTIONS,
} from '#projections/operations';
import { AuthenticatedGuard, RequirePermission } from './authenticated.guard.js';
import { HttpErrorsModule } from './http-errors.module.js';
import { ProjectionParams, ReplayBody } from './requests.js';

/** The projection operations' refusals as DomainErrors (the operations know nothing of the wire). */
function refusalOf(err: unknown, name: string): unknown {
  if (err instanceof UnknownProjectionError) return unknownProjection(name);
  if (err instanceof ReplayBusyError) return aborted('ADMIN-RpBsy', 'Errors.Projection.ReplayRunning', { name });
  if (err instanceof NotMigratedError) return failedPrecondition('ADMIN-PrjMg', 'Errors.Projection.NotMigrated', { name });
  return err;
}

const unknownProjection = (name: string) =>
  notFound('ADMIN-PrjNf', 'Errors.Projection.NotFound', { name, known: Object.keys(VERSIONED_PROJECTIONS).join(', ') });
const noReplay = (name: string) => notFound('ADMIN-RpNf0', 'Errors.Projection.NoReplay', { name });

/** Runs an operation of projection `name`, its refusals turned into DomainErrors. */
async function operation<T>(name: string, run: () => T | Promise<T>): Promise<T> {
  if (!Object.hasOwn(VERSIONED_PROJECTIONS, name)) throw unknownProjection(name);
  try {
    return await run();
  } catch (err) {
    throw refusalOf(err, name);
  }
}

/**
 * The operators' projection routes (the CLI uses them when the server owns the embedded
 * store). Authenticated with the AUTHENTICATOR; the caller needs `iam.write` on the instance
 * (IAM_OWNER: the admin token).
 *
 *   GET    /admin/v1/projections                      → 200 {projections: [status report]}
 *   POST   /admin/v1/projections/:name/replay {batchSize?}
 *                                                     → 202 {job}; 409 if one is running
 *   GET    /admin/v1/projections/:name/replay         → 200 {job} (running or last), 404 if none
 *   DELETE /admin/v1/projections/:name/replay         → 200 {job} once it has stopped (nothing switched)
 *   POST   /admin/v1/projections/:name/verify         → 200 {report} (report.equal false: differences)
 * An unknown :name is 404; errors are answered by the ApiExceptionFilter.
 */
@Controller('admin/v1/projections')
@UseGuards(AuthenticatedGuard)
@RequirePermission('iam.write')
export class ProjectionsController {
  constructor(@Inject(ProjectionAdmin) private readonly admin: ProjectionAdmin) {}

  @Get()
  async status() {
    return { projections: await this.admin.status() };
  }

  @Post(':name/replay')
  @HttpCode(202)
  async replay(@Param() { name }: ProjectionParams, @Body() body: ReplayBody) {
    const job = await operation(name, () => this.admin.startReplay(name, body.batchSize ? { batchSize: body.batchSize } : {}));
    return { job };
  }

  @Get(':name/replay')
  async replayJob(@Param() { name }: ProjectionParams) {
    const job = await operation(name, () => this.admin.replayJob(name));
    if (!job) throw noReplay(name);
    return { job };
  }

  @Delete(':name/replay')
  async cancel(@Param() { name }: ProjectionParams) {
    const job = await operation(name, () => this.admin.cancelReplay(name));
    if (!job) throw noReplay(name);
    return { job };
  }

  @Post(':name/verify')
  @HttpCode(200)
  async verify(@Param() { name }: ProjectionParams) {
    return { report: await operation(name, () => this.admin.verify(name)) };
  }
}

/**
 * The projection admin routes, for AppModule's imports. Needs the global SQL_DATABASE,
 * EVENT_STORE, LOGGER and CONFIG (InfrastructureModule); imports AuthModule for the
 * AUTHENTICATOR (the same module instance AdminModule imports) and HttpErrorsModule for the
 * validation and error answers of its routes.
 */
@Module({
  imports: [AuthModule, HttpErrorsModule],
  controllers: [ProjectionsController],
  providers: [ProjectionAdmin],
})
export class ProjectionsAdminModule {}
