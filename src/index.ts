/** The public surface of flagsmith-rudderstack. */
export { RudderStackIntegration } from './integration';
export { StaticConfigSource } from './settings/config-source';
export { validateSettings, SettingsError } from './settings/validate';
export { settingsSchema } from './settings/schema';
export { integrationManifest, type IntegrationManifest } from './manifest';
export { toTraits, buildIdentifyMessage } from './mapping';
export { PostgresConfigSource, PostgresConfigSourceError } from './settings/postgres-config-source';
export type {
  PostgresConfigSourceErrorReason,
  PostgresConfigSourceOptions,
  SaveResult,
  SqlClient,
} from './settings/postgres-config-source';
export { withRudderStack } from './local-evaluation/with-rudderstack';
export type { IdentityFetchHook, IdentityFlagsClient, WithRudderStackOptions } from './local-evaluation/with-rudderstack';
export type {
  ApiFlag,
  BuildIdentifyOptions,
  ConfigSource,
  DropReason,
  FetchLike,
  FetchRequestInit,
  FetchResponseLike,
  FlagsInput,
  IdentifyMessage,
  IdentityFetchContext,
  IdentityTraitsInput,
  IntegrationStats,
  Logger,
  MappingOptions,
  RudderStackIntegrationOptions,
  RudderStackSettings,
  SdkFlag,
  SdkFlags,
  Traits,
  ValidatedSettings,
  ValidateSettingsOptions,
  ValueMode,
} from './types';
