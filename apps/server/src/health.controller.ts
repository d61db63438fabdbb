import { Controller, Get, HttpCode, HttpStatus, Inject, Res } from '@nestjs/common';
import { Readiness } from '#runtime';

/** The part of Express's response /readyz sets. */
interface StatusResponse {
  status(code: number): unknown;
}

/**
 * Liveness and readiness, unauthenticated so that orchestrators can probe them. "Not ready" is
 * a report (503 with the checks), not an error: only a failure of the route itself reaches
 * the ApiExceptionFilter.
 */
@Controller()
export class HealthController {
  constructor(@Inject(Readiness) private readonly readiness: Readiness) {}

  @Get('healthz')
  @HttpCode(200)
  alive() {
    return { status: 'ok' };
  }

  /** The same readiness as grpc.health.v1.Health answers over gRPC. */
  @Get('readyz')
  async ready(@Res({ passthrough: true }) res: StatusResponse) {
    const { ready, checks, reasons } = await this.readiness.check();
    if (!ready) {
      res.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { status: 'not ready', checks, ...(reasons ? { reasons } : {}) };
    }
    return { status: 'ready', checks };
  }
}
