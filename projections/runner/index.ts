export * from './projection.js';
export { ProjectionRunner, type ProjectionRunnerOptions } from './projection-runner.js';
export {
  CHECKPOINTS_TABLE,
  PROJECTIONS_SCHEMA,
  PROJECTION_RUNNER_HISTORY,
  projectionRunnerMigrations,
  projectionSchemas,
  migrateProjections,
} from './schema.js';
