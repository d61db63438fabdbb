export {
  CatchUpAbortedError,
  CheckpointedConsumer,
  sleep,
  type Batch,
  type BatchHandler,
  type BatchOutcome,
  type CatchUpOptions,
  type CheckpointedConsumerOptions,
  type ConsumerState,
  type LeaseOptions,
} from './checkpointed-consumer.js';
export { CheckpointMovedError, LeaseLostError, loadCheckpoint, readCheckpoint, type CheckpointTable } from './checkpoint-row.js';
export { CheckpointLease } from './lease.js';
