export { VERSIONED_PROJECTIONS, projectionNamed, requireMigrated, NotMigratedError, UnknownProjectionError } from './registry.js';
export { acquireReplayLock, replayRunning, ReplayBusyError, type ReplayLock } from './replay-lock.js';
export {
  replayProjection,
  ReplayFailedError,
  ReplayInterruptedError,
  type OperationDeps,
  type ReplayOptions,
  type ReplayProgress,
  type ReplayResult,
} from './replay.js';
export { verifyProjection, formatVerifyReport, type VerifyReport, type TableComparison, type RowDifference } from './verify.js';
export { projectionStatus, formatStatus, type ProjectionStatusReport, type CheckpointInfo } from './status.js';
export { ProjectionAdmin, type ReplayJob, type ReplayJobState } from './projection-admin.js';
