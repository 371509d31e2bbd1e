/**
 * The example hosts in examples/, each started as a real child process exactly as its README
 * says (node server.js), driven by Flagsmith's own clients, delivering to a local data plane.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFlagsmithInstance } from '@flagsmith/flagsmith/isomorphic';
import { Flagsmith } from 'flagsmith-nodejs';
import { toTraits } from '../../src/mapping';
import { startLocalDataPlane, type LocalDataPlane } from '../../src/testing/local-data-plane';
import type { SdkFlag } from '../../src/types';
import expected from '../../fixtures/environment-expected.json';
import document from '../../fixtures/environment-document.json';

const ROOT = path.resolve(__dirname, '../..');
const WRITE_KEY = 'wk_examples_secret';
const FEATURE_NAMES = document.feature_states.map((state) => state.feature.name).sort();
const IDENTITIES = expected.identities as unknown as Array<{ identifier: string; traits: Record<string, string | number | boolean>; flags: SdkFlag[] }>;

interface RunningExample {
  apiUrl: string;
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let modules: string;
let dataPlane: LocalDataPlane;
const running: RunningExample[] = [];

beforeAll(() => {
  for (const entry of ['dist/index.js', 'dist/testing/index.js']) {
    if (!fs.existsSync(path.join(ROOT, entry))) throw new Error(`${entry} is missing: run "npm run build" first (npm test builds before running jest)`);
  }
  // What `npm install` in an example makes of its "file:../.." dependency: a link named
  // flagsmith-rudderstack to this repository. Express and Fastify come from the root node_modules.
  modules = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-modules-'));
  fs.symlinkSync(ROOT, path.join(modules, 'flagsmith-rudderstack'), 'dir');
});

afterAll(() => fs.rmSync(modules, { recursive: true, force: true }));

beforeEach(async () => {
  dataPlane = await startLocalDataPlane({ writeKeys: [WRITE_KEY] });
});

afterEach(async () => {
  for (const example of running.splice(0)) {
    example.child.kill('SIGKILL');
    await example.exited;
  }
  await dataPlane.close();
});

/** Starts `node server.js` in examples/<name> on a free port and resolves once it says where it listens. */
function startExample(name: string): Promise<RunningExample> {
  const child = spawn(process.execPath, ['server.js'], {
    cwd: path.join(ROOT, 'examples', name),
    env: {
      ...process.env,
      NODE_PATH: modules,
      PORT: '0',
      RUDDERSTACK_WRITE_KEY: WRITE_KEY,
      RUDDERSTACK_DATA_PLANE_URL: dataPlane.url,
      RUDDERSTACK_ALLOW_PRIVATE_NETWORKS: 'true',
    },
  });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
    // A process that could not be spawned has no 'close'.
    child.on('error', (error) => {
      output += String(error);
      resolve({ code: null, signal: null });
    });
  });
  const example: RunningExample = { apiUrl: '', child, output: () => output, exited };
  running.push(example);
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const listening = /(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/)/.exec(output);
      if (listening && example.apiUrl === '') resolve({ ...example, apiUrl: listening[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(({ code, signal }) => reject(new Error(`examples/${name} exited (${code ?? signal}) before listening:\n${output}`)));
  });
}

/** The flags Flagsmith's JavaScript client got for an identity (GET without traits, POST with). */
async function clientFlags(apiUrl: string, identifier: string, traits: Record<string, string | number | boolean>): Promise<Record<string, unknown>> {
  const flagsmith = createFlagsmithInstance();
  await flagsmith.init({ environmentID: document.api_key, api: apiUrl, identity: identifier, ...(Object.keys(traits).length > 0 ? { traits } : {}) });
  const flags = flagsmith.getAllFlags();
  return Object.fromEntries(Object.entries(flags).map(([name, flag]) => [name, { enabled: flag.enabled, value: flag.value }]));
}

/** By name, as the JavaScript client keeps them; the server SDK has no value (undefined) where the API sent null. */
function expectedFlags(flags: SdkFlag[]): Record<string, unknown> {
  return Object.fromEntries(flags.map((flag) => [flag.featureName, { enabled: flag.enabled, value: flag.value ?? null }]));
}

/** A wrong key, a GET without identifier, a body that is not JSON, a trait without a key: what each is answered. */
async function refusals(apiUrl: string): Promise<Array<[number, unknown]>> {
  const headers = { 'X-Environment-Key': document.api_key, 'Content-Type': 'application/json' };
  const requests: Array<[string, RequestInit]> = [
    ['identities/?identifier=user_123', { headers: { 'X-Environment-Key': 'not-the-environment-key' } }],
    ['identities/', { headers }],
    ['identities/', { method: 'POST', headers, body: '{"identifier":' }],
    ['identities/', { method: 'POST', headers, body: JSON.stringify({ identifier: 'user_123', traits: [{ trait_value: 1 }] }) }],
  ];
  const answers: Array<[number, unknown]> = [];
  for (const [target, init] of requests) {
    const response = await fetch(new URL(target, apiUrl), init);
    answers.push([response.status, await response.json()]);
  }
  return answers;
}

describe.each(['express', 'fastify'])('examples/%s', (name) => {
  test('serves the identities endpoints to the Flagsmith clients, refuses what Flagsmith refuses, and sends one identify per call, one trait per feature', async () => {
    const example = await startExample(name);

    for (const identity of IDENTITIES) {
      expect(await clientFlags(example.apiUrl, identity.identifier, identity.traits)).toEqual(expectedFlags(identity.flags));
    }
    // The server SDK's getIdentityFlags (POST) against the same host.
    const server = new Flagsmith({ environmentKey: document.api_key, apiUrl: example.apiUrl, retries: 0 });
    const [last] = IDENTITIES.slice(-1);
    const serverFlags = await server.getIdentityFlags(last.identifier, last.traits);
    expect(expectedFlags(serverFlags.allFlags())).toEqual(expectedFlags(last.flags));
    await server.close();
    // Requests Flagsmith refuses get its status and body, and fire no hook.
    await expect(createFlagsmithInstance().init({ environmentID: 'not-the-environment-key', api: example.apiUrl, identity: 'user_123' })).rejects.toThrow();
    expect(await refusals(example.apiUrl)).toEqual([
      [401, { detail: 'Invalid or missing Environment Key' }],
      [400, { identifier: ['This field is required.'] }],
      [400, { detail: 'JSON parse error.' }],
      [400, { traits: ['Each trait needs a string trait_key and a string, number, boolean or null trait_value.'] }],
    ]);

    const events = await dataPlane.waitForEvents(IDENTITIES.length + 1);
    expect(events.map((event) => event.userId)).toEqual([...IDENTITIES, last].map((identity) => identity.identifier));
    for (const [i, identity] of [...IDENTITIES, last].entries()) {
      expect(Object.keys(events[i].traits as object).sort()).toEqual(FEATURE_NAMES);
      expect(events[i].traits).toEqual({ ...toTraits(identity.flags) });
    }
    expect(dataPlane.batches.every((batch) => batch.writeKey === WRITE_KEY)).toBe(true);
  });

  test('SIGTERM closes the integration: events not yet sent are delivered, then the process exits 0', async () => {
    const example = await startExample(name);
    const [identity] = IDENTITIES;
    await clientFlags(example.apiUrl, identity.identifier, identity.traits);

    example.child.kill('SIGTERM');
    const { code, signal } = await example.exited;

    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(dataPlane.events.map((event) => event.userId)).toEqual([identity.identifier]);
  });
});
