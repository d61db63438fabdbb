import { Controller, Get, HttpCode, HttpException, HttpStatus, Inject } from '@nestjs/common';
import { Readiness } from '#runtime';

/** Liveness and readiness, unauthenticated so that orchestrators can probe them. */
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
  async ready() {
    const { ready, checks } = await this.readiness.check();
    if (!ready) throw new HttpException({ status: 'not ready', checks }, HttpStatus.SERVICE_UNAVAILABLE);
    return { status: 'ready', checks };
  }
}
