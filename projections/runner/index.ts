export * from './projection.js';
export * from './read-model.js';
export * from './apply-changes.js';
export { CatchUpAbortedError, ProjectionRunner, type CatchUpOptions, type ProjectionRunnerOptions } from './projection-runner.js';
export {
  CHECKPOINTS_TABLE,
  PROJECTIONS_SCHEMA,
  PROJECTION_RUNNER_HISTORY,
  VERSIONS_TABLE,
  VERSION_SWITCHED_CHANNEL,
  projectionRunnerMigrations,
  projectionSchemas,
  migrateProjections,
} from './schema.js';
export * from './state.js';
export * from './versions.js';
export { measureLag, type Lag } from './lag.js';
export { ProjectionMetrics, projectionMetrics, type LagSource, type ReadYourWritesMiss } from './metrics.js';
export { ReadYourWrites, type ReadYourWritesOptions, type Settled } from './read-your-writes.js';
export { HostedReadModel, readModelProviders, type HostedReadModelParts, type ReadModelTokens } from './hosted-read-model.js';
