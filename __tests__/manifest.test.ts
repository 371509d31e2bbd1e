import { integrationManifest } from '../src/manifest';
import { settingsSchema } from '../src/settings/schema';

describe('integrationManifest', () => {
  test("describes the two fields of Flagsmith's form consistently with the schema validateSettings uses", () => {
    expect(integrationManifest).toMatchObject({ key: 'rudderstack', perEnvironment: true, settingsSchema });
    const [apiKey, baseUrl] = integrationManifest.fields;
    expect(apiKey).toEqual({ key: 'api_key', label: 'API Key', type: 'string', required: true, maxLength: settingsSchema.properties.api_key.maxLength });
    expect(baseUrl).toMatchObject({ key: 'base_url', label: 'Base URL', required: false, placeholder: 'https://hosted.rudderlabs.com' });
    expect(settingsSchema.required).toEqual(integrationManifest.fields.filter((field) => field.required).map((field) => field.key));
  });
});
