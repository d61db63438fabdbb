import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { METRICS_REGISTRY } from './registry.js';

/** The part of Express's response the route uses. */
interface TextResponse {
  setHeader(name: string, value: string): void;
  status(code: number): { send(body: string): void };
}

/**
 * `GET /metrics`: the registry in Prometheus' text format (0.0.4), unauthenticated like
 * /healthz, for a scraper inside the deployment. It holds no secrets (names, counts, lags).
 */
@Controller()
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get('metrics')
  async metrics(@Res() res: TextResponse): Promise<void> {
    const text = await this.registry.metrics();
    res.setHeader('content-type', this.registry.contentType);
    res.setHeader('cache-control', 'no-store');
    res.status(200).send(text);
  }
}
