// `flagsmith-rudderstack/testing`: tools for testing a host's integration without a real data plane.
export { startLocalDataPlane } from './local-data-plane';
export type {
  DataPlanePath,
  FailureSpec,
  LocalDataPlane,
  LocalDataPlaneOptions,
  ReceivedBatch,
  ReceivedEvent,
  ReceivedRequest,
  RequestOutcome,
} from './local-data-plane';
