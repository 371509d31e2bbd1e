/**
 * JSON Schema (draft-07) of the settings a self-hoster types in: exactly the row Flagsmith
 * stores for its RudderStack integration. A host can render a settings form from it.
 *
 * Unknown fields are allowed because Flagsmith's serializer ignores them; rejecting them here
 * would break hosts that pass the whole stored row (id, uuid, deleted_at, ...).
 */
export const settingsSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'RudderStack',
  description: "Sends each identity's flags to RudderStack as an identify event.",
  type: 'object',
  required: ['api_key'],
  properties: {
    api_key: {
      title: 'API Key',
      description: 'The write key of your RudderStack HTTP source.',
      type: 'string',
      minLength: 1,
      // Flagsmith's column is varchar(100).
      maxLength: 100,
      pattern: '\\S',
    },
    base_url: {
      title: 'Base URL',
      description: 'Your RudderStack data plane URL, e.g. https://yourcompany.dataplane.rudderstack.com. ' + 'Leave empty for https://hosted.rudderlabs.com.',
      type: ['string', 'null'],
      // Flagsmith's column is varchar(200).
      maxLength: 200,
    },
  },
  additionalProperties: true,
} as const;
