import {
  Body,
  Catch,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Inject,
  Injectable,
  Module,
  Optional,
  Param,
  Post,
  UseFilters,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { z } from 'zod';
import { AuthModule } from '#auth';
import { AUTHENTICATOR, type Authenticator } from '#auth';
import { requirePermission } from '#access';
import { LOGGER, type Logger } from '#logging';
import {
  NotMigratedError,
  ProjectionAdmin,
  ReplayBusyError,
  UnknownProjectionError,
} from '#projections/operations';
import { AdminErrorFilter, AdminRequestError } from './error-filter.js';

const replayBody = z.object({ batchSize: z.number().int().min(1).max(100_000).optional() }).strict();

/** A projection route's own refusal, in the admin routes' error shape. */
class ProjectionRouteError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

interface JsonResponse {
  status(code: number): { json(body: unknown): void };
}

/** The projection errors as {code, message, details: []}; everything else as the other admin routes answer. */
@Catch()
@Injectable()
export class ProjectionsErrorFilter implements ExceptionFilter {
  private readonly fallback: AdminErrorFilter;

  constructor(@Optional() @Inject(LOGGER) logger?: Logger) {
    this.fallback = new AdminErrorFilter(logger);
  }

  catch(err: unknown, host: ArgumentsHost): void {
    const mapped =
      err instanceof ProjectionRouteError
        ? err
        : err instanceof UnknownProjectionError
          ? new ProjectionRouteError(404, 5, err.message)
          : err instanceof ReplayBusyError
            ? new ProjectionRouteError(409, 10, err.message)
            : err instanceof NotMigratedError
              ? new ProjectionRouteError(400, 9, err.message)
              : undefined;
    if (!mapped) return this.fallback.catch(err, host);
    host.switchToHttp().getResponse<JsonResponse>().status(mapped.status).json({ code: mapped.code, message: mapped.message, details: [] });
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
 */
@Controller('admin/v1/projections')
@UseFilters(ProjectionsErrorFilter)
export class ProjectionsController {
  constructor(
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    @Inject(ProjectionAdmin) private readonly admin: ProjectionAdmin,
  ) {}

  private async operator(authorization: string | undefined): Promise<void> {
    const caller = await this.authenticator.authenticate(authorization);
    requirePermission(caller, 'iam.write', undefined);
  }

  @Get()
  async status(@Headers('authorization') authorization: string | undefined) {
    await this.operator(authorization);
    return { projections: await this.admin.status() };
  }

  @Post(':name/replay')
  @HttpCode(202)
  async replay(@Headers('authorization') authorization: string | undefined, @Param('name') name: string, @Body() body: unknown) {
    await this.operator(authorization);
    const parsed = replayBody.safeParse(body ?? {});
    if (!parsed.success) throw new AdminRequestError(`invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
    return { job: this.admin.startReplay(name, parsed.data.batchSize ? { batchSize: parsed.data.batchSize } : {}) };
  }

  @Get(':name/replay')
  async replayJob(@Headers('authorization') authorization: string | undefined, @Param('name') name: string) {
    await this.operator(authorization);
    const job = this.admin.replayJob(name);
    if (!job) throw new ProjectionRouteError(404, 5, `no replay of ${name} has run in this server process`);
    return { job };
  }

  @Delete(':name/replay')
  async cancel(@Headers('authorization') authorization: string | undefined, @Param('name') name: string) {
    await this.operator(authorization);
    const job = await this.admin.cancelReplay(name);
    if (!job) throw new ProjectionRouteError(404, 5, `no replay of ${name} has run in this server process`);
    return { job };
  }

  @Post(':name/verify')
  @HttpCode(200)
  async verify(@Headers('authorization') authorization: string | undefined, @Param('name') name: string) {
    await this.operator(authorization);
    return { report: await this.admin.verify(name) };
  }
}

/**
 * The projection admin routes, for AppModule's imports. Needs the global SQL_DATABASE,
 * EVENT_STORE, LOGGER and CONFIG (InfrastructureModule); imports AuthModule for the
 * AUTHENTICATOR (the same module instance AdminModule imports).
 */
@Module({
  imports: [AuthModule],
  controllers: [ProjectionsController],
  providers: [ProjectionAdmin, ProjectionsErrorFilter],
})
export class ProjectionsAdminModule {}
