'use strict';
// A Flagsmith-API-like host on Express: the identities endpoints, with the RudderStack hook
// called after each identity's flags are computed and sent. See README.md beside this file.
const express = require('express');
const { RudderStackIntegration, validateSettings } = require('flagsmith-rudderstack');
// Stands in for your API's own flag engine: flags evaluated from an environment document.
const { EnvironmentDocumentApi, FlagsmithApiError } = require('flagsmith-rudderstack/testing');

// Without ENVIRONMENT_DOCUMENT, the document the package ships (fixtures/environment-document.json).
const flagsmithApi = new EnvironmentDocumentApi(process.env.ENVIRONMENT_DOCUMENT);

// One environment's settings, as a self-hoster types them in; a real host reads them from its
// database (PostgresConfigSource) instead.
const settings = { api_key: process.env.RUDDERSTACK_WRITE_KEY ?? '', base_url: process.env.RUDDERSTACK_DATA_PLANE_URL };
const allowPrivateNetworks = process.env.RUDDERSTACK_ALLOW_PRIVATE_NETWORKS === 'true';
try {
  validateSettings(settings, { allowPrivateNetworks });
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
const integration = new RudderStackIntegration({ config: { [flagsmithApi.environmentKey]: settings }, allowPrivateNetworks });

const app = express();
app.use(express.json());

function sendIdentity(req, res, response) {
  res.json(response);
  // After the response is sent: the hook is synchronous, never throws and never delays it.
  integration.postIdentityFetch({
    environmentKey: req.get('X-Environment-Key'),
    identity: { identifier: response.identifier, traits: response.traits },
    flags: response.flags,
  });
}

app.get('/api/v1/identities/', async (req, res) => {
  sendIdentity(req, res, await flagsmithApi.getIdentity(req.get('X-Environment-Key'), req.query));
});

app.post('/api/v1/identities/', async (req, res) => {
  sendIdentity(req, res, await flagsmithApi.postIdentity(req.get('X-Environment-Key'), req.body));
});

// Environment flags have no identity: Flagsmith calls no integration for them.
app.get('/api/v1/flags/', async (req, res) => {
  res.json(await flagsmithApi.environmentFlags(req.get('X-Environment-Key')));
});

app.use((error, req, res, next) => {
  if (error instanceof FlagsmithApiError) return res.status(error.status).json(error.body);
  if (error.type === 'entity.parse.failed') return res.status(400).json({ detail: 'JSON parse error.' });
  next(error);
});

const server = app.listen(Number(process.env.PORT ?? 8000), process.env.HOST ?? '127.0.0.1', (error) => {
  if (error) {
    console.error(error.message);
    process.exit(1);
  }
  const { address, port } = server.address();
  console.log(`Flagsmith API (Express) on http://${address}:${port}/api/v1/, environment key ${flagsmithApi.environmentKey}`);
});

// Stop taking requests, then deliver what the integration still holds before exiting.
async function shutdown() {
  await new Promise((resolve) => server.close(resolve));
  await integration.close();
  await flagsmithApi.close();
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
