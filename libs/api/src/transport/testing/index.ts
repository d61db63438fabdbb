export * from './stub-services.js';
export * from './test-server.js';
/** The health and reflection protocols' descriptors, for clients in tests. */
export { Health, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health_pb.js';
export { ServerReflection as ServerReflectionV1 } from '../gen/grpc/reflection/v1/reflection_pb.js';
export * from './h2-exchange.js';
