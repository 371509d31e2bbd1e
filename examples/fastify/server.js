'use strict';
// A Flagsmith-API-like host on Fastify: the identities endpoints, with the RudderStack hook
// called after each identity's flags are computed and sent. See README.md beside this file.
const Fastify = require('fastify');
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

const app = Fastify();

function sendIdentity(request, reply, response) {
  reply.send(response);
  // After the response is sent: the hook is synchronous, never throws and never delays it.
  integration.postIdentityFetch({
    environmentKey: request.headers['x-environment-key'],
    identity: { identifier: response.identifier, traits: response.traits },
    flags: response.flags,
  });
  return reply;
}

app.get('/api/v1/identities/', async (request, reply) =>
  sendIdentity(request, reply, await flagsmithApi.getIdentity(request.headers['x-environment-key'], request.query)),
);

app.post('/api/v1/identities/', async (request, reply) =>
  sendIdentity(request, reply, await flagsmithApi.postIdentity(request.headers['x-environment-key'], request.body)),
);

// Environment flags have no identity: Flagsmith calls no integration for them.
app.get('/api/v1/flags/', async (request) => flagsmithApi.environmentFlags(request.headers['x-environment-key']));

app.setErrorHandler((error, request, reply) => {
  if (error instanceof FlagsmithApiError) return reply.code(error.status).send(error.body);
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return reply.code(400).send({ detail: 'JSON parse error.' });
  return reply.send(error);
});

// Stop taking requests, then deliver what the integration still holds before exiting.
async function shutdown() {
  await app.close();
  await integration.close();
  await flagsmithApi.close();
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

app.listen({ port: Number(process.env.PORT ?? 8000), host: process.env.HOST ?? '127.0.0.1' }).then(
  (url) => console.log(`Flagsmith API (Fastify) on ${url}/api/v1/, environment key ${flagsmithApi.environmentKey}`),
  (error) => {
    console.error(error.message);
    process.exit(1);
  },
);
