import { settingsSchema } from './settings/schema';

/**
 * What a host needs to offer the integration in its settings: the two fields of Flagsmith's own
 * RudderStack form, and the JSON Schema `validateSettings` checks them with.
 */
export const integrationManifest = {
  key: 'rudderstack',
  title: 'RudderStack',
  description: "Sends each identity's flags to RudderStack as an identify event whenever the identity's flags are fetched.",
  docsUrl: 'https://docs.flagsmith.com/integrations/analytics/rudderstack',
  perEnvironment: true,
  fields: [
    { key: 'api_key', label: 'API Key', type: 'string', required: true, maxLength: 100 },
    { key: 'base_url', label: 'Base URL', type: 'string', required: false, placeholder: 'https://hosted.rudderlabs.com' },
  ],
  settingsSchema,
} as const;

export type IntegrationManifest = typeof integrationManifest;
