/**
 * `flagsmith-rudderstack/testing`: tools for testing a host's integration without a real data plane.
 * @module flagsmith-rudderstack/testing
 */
export { startLocalDataPlane } from './local-data-plane';
export { createTestIntegration, testIntegration } from './test-integration';
export { captureLogger } from './capture-logger';
export { apiFlags, identitiesResponse, sdkFlags } from './fixtures';
export { EnvironmentDocumentApi, FlagsmithApiError, type IdentitiesQuery } from '../host/environment-document-api';
export type {
  DataPlanePath,
  FailureSpec,
  LocalDataPlane,
  LocalDataPlaneOptions,
  RandomFailures,
  ReceivedBatch,
  ReceivedEvent,
  ReceivedRequest,
  RequestOutcome,
} from './local-data-plane';
export type { TestIntegration, TestIntegrationOptions } from './test-integration';
export type { CapturedLine, CapturedLogger } from './capture-logger';
export type { FlagSpec, IdentitiesResponseSpec } from './fixtures';
export type { ApiFlagItem, ApiTrait, FlagValue, IdentitiesResponse } from '../host/flagsmith-response';
