/**
 * The public surface of flagsmith-rudderstack: the integration, settings sources and validation,
 * the mapping of flags to an identify, and the shared change store.
 * @module flagsmith-rudderstack
 */
export { RudderStackIntegration } from './integration';
export { StaticConfigSource } from './settings/config-source';
export { validateSettings, SettingsError } from './settings/validate';
export { settingsSchema } from './settings/schema';
export { integrationManifest, type IntegrationManifest } from './manifest';
export { toTraits, buildIdentifyMessage } from './mapping';
export { PostgresConfigSource, PostgresConfigSourceError } from './settings/postgres-config-source';
export type { PostgresConfigSourceErrorReason, PostgresConfigSourceOptions, SaveResult } from './settings/postgres-config-source';
export type { SqlClient } from './sql';
export { PostgresOutbox, OutboxError } from './outbox/postgres-outbox';
export type { OutboxStatus, PostgresOutboxOptions } from './outbox/postgres-outbox';
export { RedisChangeStore } from './change-detection/redis-change-store';
export type { IoRedisClientLike, NodeRedisClientLike, RedisChangeStoreOptions, RedisClientLike } from './change-detection/redis-change-store';
export { withRudderStack } from './local-evaluation/with-rudderstack';
export type { IdentityFetchHook, IdentityFlagsClient, WithRudderStackOptions } from './local-evaluation/with-rudderstack';
export type {
  ApiFlag,
  BatchResult,
  BuildIdentifyOptions,
  ChangeClaim,
  ChangeVerdict,
  ConfigSource,
  DestinationState,
  DestinationStatus,
  DropReason,
  FetchLike,
  FetchRequestInit,
  FetchResponseLike,
  FlagsInput,
  IdentifyMessage,
  IdentityFetchContext,
  IdentityTraitsInput,
  IntegrationStats,
  LogFields,
  Logger,
  MappingOptions,
  RudderStackIntegrationOptions,
  RudderStackSettings,
  SdkFlag,
  SdkFlags,
  SendOnlyOnChangeOptions,
  SharedChangeStore,
  Traits,
  ValidatedSettings,
  ValidateSettingsOptions,
  ValueMode,
} from './types';
