import { settingsSchema } from './settings/schema';

/**
 * What a host needs to offer the integration in its settings: the two fields of Flagsmith's own
 * RudderStack form, and the JSON Schema `validateSettings` checks them with.
 */
export const integrationManifest = {
  /** The integration's id, as Flagsmith names it. */
  key: 'rudderstack',
  /** The name to show. */
  title: 'RudderStack',
  /** One line for the list of integrations. */
  description: "Sends each identity's flags to RudderStack as an identify event whenever the identity's flags are fetched.",
  /** Flagsmith's documentation of the integration. */
  docsUrl: 'https://docs.flagsmith.com/integrations/analytics/rudderstack',
  /** Settings are per environment, not per project. */
  perEnvironment: true,
  /** The form's fields, in order. */
  fields: [
    { key: 'api_key', label: 'API Key', type: 'string', required: true, maxLength: 100 },
    { key: 'base_url', label: 'Base URL', type: 'string', required: false, placeholder: 'https://hosted.rudderlabs.com' },
  ],
  /** The JSON Schema of the settings (the same object as `settingsSchema`). */
  settingsSchema,
} as const;

/** The type of `integrationManifest`. */
export type IntegrationManifest = typeof integrationManifest;
