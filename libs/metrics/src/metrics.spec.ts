import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { counter, gauge, histogram, metricsRegistry, MetricsModule } from './index.js';

describe('MetricsModule', () => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    @Module({ imports: [MetricsModule] })
    class App {}
    app = await NestFactory.create(App, { logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(() => app?.close());

  it('serves the process registry at GET /metrics, in Prometheus text, without authentication', async () => {
    counter({ name: 'metrics_spec_things_total', help: 'things', labelNames: ['kind'] }).inc({ kind: 'a' }, 3);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('# HELP metrics_spec_things_total things');
    expect(text).toContain('# TYPE metrics_spec_things_total counter');
    expect(text).toMatch(/^metrics_spec_things_total\{kind="a"\} 3$/m);
    // Node's process metrics are on.
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('registers a metric once per registry: a second registration gets the first', () => {
    const a = counter({ name: 'metrics_spec_once_total', help: 'once' });
    const b = counter({ name: 'metrics_spec_once_total', help: 'once' });
    expect(b).toBe(a);
    const own = new Registry();
    const c = counter({ name: 'metrics_spec_once_total', help: 'once' }, own);
    expect(c).not.toBe(a);
    expect(gauge({ name: 'metrics_spec_gauge', help: 'g' })).toBe(gauge({ name: 'metrics_spec_gauge', help: 'g' }));
    expect(histogram({ name: 'metrics_spec_seconds', help: 'h' })).toBe(metricsRegistry.getSingleMetric('metrics_spec_seconds'));
  });
});
