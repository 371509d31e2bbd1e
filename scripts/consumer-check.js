'use strict';
/**
 * The package as a user gets it (issue 13): packs the tarball (which builds first), installs it
 * into an empty project with `npm install --omit=dev`, and checks there what a user relies on:
 * the tarball's contents, the size of the install, `require`, `import`, `/testing`, the exported
 * fixtures, the bin, the one-line message of sdkFlags, backfill and demo when the optional peer
 * flagsmith-nodejs is missing (and that the npx line it gives works), `/prometheus` and
 * `/opentelemetry` without their optional peers (one line saying what to install) and with them
 * (real metrics), and TypeScript strict consumers under `node16`, `bundler` and `node` (node10)
 * resolution.
 *
 *   node scripts/consumer-check.js [--keep]   (--keep leaves the temporary project for a look)
 *
 * Needs the npm registry (or npm's cache) for the package's dependencies and for typescript and
 * @types/node. Exit code 1 when any check fails.
 */
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const PKG = require('../package.json');
/** Issue 13: the hook's production install. */
const MAX_PACKAGES = 12;
// Two budgets: the dependencies (a tree that grows behind our back is what this guards against),
// and the package itself, which grows with its features.
const MAX_DEPENDENCIES_KIB = 3 * 1024;
const MAX_PACKAGE_KIB = 1024;
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';

let failures = 0;

function check(name, fn) {
  try {
    const detail = fn();
    process.stdout.write(`ok - ${name}${detail ? ` (${detail})` : ''}\n`);
  } catch (error) {
    failures++;
    process.stdout.write(`not ok - ${name}\n${String(error instanceof Error ? error.message : error).replace(/^/gm, '    ')}\n`);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** Runs a command; returns its result whatever the exit code. */
function run(command, args, cwd, env = {}, timeout = undefined) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout, killSignal: 'SIGKILL' });
  if (result.error && result.error.code !== 'ETIMEDOUT') throw result.error;
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command that must succeed; returns its stdout. */
function ok(command, args, cwd, env) {
  const result = run(command, args, cwd, env);
  assert(result.code === 0, `${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

function node(cwd, args) {
  return ok(process.execPath, args, cwd);
}

function pack(destination) {
  const output = execFileSync(NPM, ['pack', '--json', '--pack-destination', destination], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [tarball] = JSON.parse(output);
  return { file: path.join(destination, tarball.filename), files: tarball.files.map((file) => file.path) };
}

function checkTarball(files) {
  check('the tarball ships dist/ (CommonJS, ESM wrappers, types), README.md, CHANGELOG.md, LICENSE and the fixtures', () => {
    const required = [
      'dist/index.js',
      'dist/index.mjs',
      'dist/index.d.ts',
      'dist/index.d.mts',
      'dist/testing/index.js',
      'dist/testing/index.mjs',
      'dist/testing/index.d.ts',
      'dist/testing/index.d.mts',
      'dist/cli/main.js',
      'dist/metrics/prometheus.js',
      'dist/metrics/prometheus.mjs',
      'dist/metrics/prometheus.d.ts',
      'dist/metrics/prometheus.d.mts',
      'dist/metrics/opentelemetry.js',
      'dist/metrics/opentelemetry.mjs',
      'dist/metrics/opentelemetry.d.ts',
      'dist/metrics/opentelemetry.d.mts',
      'README.md',
      'CHANGELOG.md',
      'LICENSE',
      'package.json',
      'fixtures/environment-document.json',
      'fixtures/sql/flagsmith-rudderstack-tables.sql',
      'fixtures/prometheus/alerts.yml',
    ];
    const missing = required.filter((file) => !files.includes(file));
    assert(missing.length === 0, `missing: ${missing.join(', ')}`);
    return `${files.length} files`;
  });
  check('the tarball has no source map without its source', () => {
    const maps = files.filter((file) => file.endsWith('.map'));
    assert(maps.length === 0 || files.some((file) => file.startsWith('src/')), `${maps.length} source maps and no src/: ${maps.slice(0, 3).join(', ')}, ...`);
  });
}

/**
 * Packages in the production install, and their size in bytes (`du -sk --apparent-size`: what
 * the files hold, not the filesystem's blocks, which give each small file 4 KiB): all of
 * node_modules, and this package's own folder.
 */
function installFigures(project) {
  const listed = run(NPM, ['ls', '--all', '--omit=dev', '--parseable'], project).stdout.trim().split('\n');
  const packages = listed.slice(1).map((dir) => path.relative(path.join(project, 'node_modules'), dir));
  const kibOf = (dir) => Number(ok('du', ['-sk', '--apparent-size', dir], project).split(/\s/)[0]);
  const kib = kibOf('node_modules');
  const ownKib = kibOf(path.join('node_modules', 'flagsmith-rudderstack'));
  return { packages, kib, ownKib };
}

function checkProductionInstall(project, tarball) {
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  ok(NPM, ['install', '--omit=dev', ...NPM_FLAGS, tarball], project);
  check(
    `the production install is at most ${MAX_PACKAGES} packages, dependencies at most ${MAX_DEPENDENCIES_KIB} KiB and the package at most ${MAX_PACKAGE_KIB} KiB, without ajv or flagsmith-nodejs`,
    () => {
      const { packages, kib, ownKib } = installFigures(project);
      assert(packages.length <= MAX_PACKAGES, `${packages.length} packages: ${packages.join(', ')}`);
      assert(kib - ownKib <= MAX_DEPENDENCIES_KIB, `dependencies ${kib - ownKib} KiB`);
      assert(ownKib <= MAX_PACKAGE_KIB, `the package ${ownKib} KiB`);
      for (const absent of ['ajv', 'flagsmith-nodejs']) assert(!packages.includes(absent), `${absent} is installed`);
      return `${packages.length} packages, ${kib} KiB: dependencies ${kib - ownKib} KiB, the package ${ownKib} KiB`;
    },
  );
}

function checkRuntime(project) {
  check('require() of the root and of /testing', () => {
    node(project, [
      '-e',
      `
      const assert = require('node:assert');
      const root = require('flagsmith-rudderstack');
      const testing = require('flagsmith-rudderstack/testing');
      assert.strictEqual(typeof root.RudderStackIntegration, 'function');
      assert.deepStrictEqual(root.validateSettings({ api_key: 'k' }), { writeKey: 'k', dataPlaneUrl: 'https://hosted.rudderlabs.com' });
      assert.throws(() => root.validateSettings({ api_key: 7 }), /api_key: must be text, not a number/);
      assert.strictEqual(typeof testing.startLocalDataPlane, 'function');
      assert.strictEqual(require('flagsmith-rudderstack/package.json').version, ${JSON.stringify(PKG.version)});
    `,
    ]);
  });
  check('import of the root and of /testing share one copy of the code', () => {
    node(project, [
      '--input-type=module',
      '-e',
      `
      import assert from 'node:assert';
      import { createRequire } from 'node:module';
      import { RudderStackIntegration } from 'flagsmith-rudderstack';
      import { createTestIntegration } from 'flagsmith-rudderstack/testing';
      const require = createRequire(import.meta.url);
      assert.strictEqual(RudderStackIntegration, require('flagsmith-rudderstack').RudderStackIntegration);
      const test = await createTestIntegration();
      test.integration.postIdentityFetch({ environmentKey: test.environmentKey, identity: { identifier: 'user_1' }, flags: [] });
      assert.strictEqual((await test.waitForEvents(1))[0].userId, 'user_1');
      await test.close();
    `,
    ]);
  });
  check('the fixtures the README points at resolve', () => {
    node(project, [
      '-e',
      `
      require('node:fs').accessSync(require.resolve('flagsmith-rudderstack/fixtures/sql/flagsmith-rudderstack-tables.sql'));
      require('flagsmith-rudderstack/fixtures/environment-document.json');
    `,
    ]);
  });
  check('the bin: npx flagsmith-rudderstack --help exits 0', () => {
    const help = ok(NPX, ['--no-install', 'flagsmith-rudderstack', '--help'], project);
    assert(/backfill/.test(help), `no backfill command in:\n${help}`);
  });
  check('sdkFlags without flagsmith-nodejs: one line saying how to get it', () => {
    const result = run(process.execPath, ['-e', "require('flagsmith-rudderstack/testing').sdkFlags({ a: true })"], project);
    assert(result.code !== 0 && /flagsmith-nodejs is not installed: .*npm install flagsmith-nodejs$/m.test(result.stderr), result.stderr);
  });
}

/** One line on stderr and exit 1, within a minute (a command left running is killed and fails the check). */
function failsInOneLine(result) {
  assert(result.code === 1, `exit ${result.code}${result.signal ? ` (${result.signal}: it did not end)` : ''}\n${result.stderr}`);
  assert(result.stderr.trim().split('\n').length === 1, `not one line:\n${result.stderr}`);
}

/**
 * Run by npx without flagsmith-nodejs, `command` fails in one line giving the npx command that
 * runs it with the peer; run from a directory that is no project, that command works (the
 * tarball stands in for the published version).
 */
function checkNpxPeerLine(work, tarball, command, options, extraPackages, expectedOutput) {
  const dir = fs.mkdtempSync(path.join(work, 'no-project-'));
  const withTarball = (words) => words.map((word) => (word === `${PKG.name}@${PKG.version}` ? tarball : word));
  let npxLine;
  check(`${command} under npx without flagsmith-nodejs: one line with the npx command that brings it`, () => {
    const extra = extraPackages.flatMap((spec) => ['-p', spec]);
    const result = run(NPX, ['-p', tarball, ...extra, PKG.name, command, ...options], dir, { npm_config_yes: 'true' }, 120_000);
    failsInOneLine(result);
    npxLine = new RegExp(`run (npx .*? ${command}) \\.\\.\\.`).exec(result.stderr)?.[1];
    assert(npxLine, `no npx line in: ${result.stderr}`);
    return npxLine;
  });
  if (!npxLine) return;
  check(`the npx line it gives runs ${command}`, () => {
    const stdout = ok(NPX, [...withTarball(npxLine.split(' ').slice(1)), ...options], dir, { npm_config_yes: 'true' });
    assert(expectedOutput.test(stdout), `no ${expectedOutput} in:\n${stdout}`);
  });
}

/** Installed in a project without flagsmith-nodejs, backfill says to npm install it there; then it works. */
function checkProjectPeerLine(project, options) {
  const bin = path.join(project, 'node_modules', PKG.name, PKG.bin[PKG.name]);
  let install;
  check('backfill in a project without flagsmith-nodejs: one line saying to npm install it there', () => {
    const result = run(process.execPath, [bin, 'backfill', ...options], project, {}, 60_000);
    failsInOneLine(result);
    install = new RegExp(`run npm install (\\S+) in ${project.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, then try again$`, 'm').exec(result.stderr)?.[1];
    assert(install, `no npm install line for ${project} in: ${result.stderr}`);
  });
  if (!install) return;
  check('after that npm install, backfill works', () => {
    ok(NPM, ['install', '--no-save', ...NPM_FLAGS, install], project);
    const stdout = ok(process.execPath, [bin, 'backfill', ...options], project);
    assert(/user_1[^]*user_2/.test(stdout), `no identify of user_1 and user_2 in:\n${stdout}`);
  });
}

function checkPeerLines(work, project, tarball) {
  const identities = path.join(work, 'identities.ndjson');
  fs.writeFileSync(identities, '{"identifier":"user_1","traits":{"plan":"free"}}\n{"identifier":"user_2"}\n');
  const document = path.join(ROOT, 'fixtures/environment-document.json');
  const backfill = ['--dry-run', '--environment-document', document, '--identities', identities];
  checkNpxPeerLine(work, tarball, 'backfill', backfill, [], /user_1[^]*user_2/);
  const client = `@flagsmith/flagsmith@${PKG.devDependencies['@flagsmith/flagsmith']}`;
  checkNpxPeerLine(work, tarball, 'demo', [], [client], /4 of 4 identify event\(s\) delivered/);
  checkProjectPeerLine(project, backfill);
}

const CONSUMER_TS = `
import { RudderStackIntegration, validateSettings, type IntegrationStats, type RudderStackSettings } from 'flagsmith-rudderstack';
import { createTestIntegration, identitiesResponse, startLocalDataPlane, type TestIntegration } from 'flagsmith-rudderstack/testing';
import { collectPrometheusMetrics, type PrometheusMetrics } from 'flagsmith-rudderstack/prometheus';
import { collectOpenTelemetryMetrics, type OpenTelemetryMetrics } from 'flagsmith-rudderstack/opentelemetry';

const settings: RudderStackSettings = { api_key: 'k', base_url: null };
const writeKey: string = validateSettings(settings).writeKey;
const response = identitiesResponse({ identifier: 'user_1', flags: { beta: true } });
export async function main(): Promise<IntegrationStats> {
  const test: TestIntegration = await createTestIntegration();
  const dataPlane = await startLocalDataPlane();
  const integration = new RudderStackIntegration({ config: { env: { api_key: writeKey, base_url: dataPlane.url } }, allowPrivateNetworks: true });
  const collected: [PrometheusMetrics, OpenTelemetryMetrics] = [collectPrometheusMetrics(integration, { prefix: 'api_' }), collectOpenTelemetryMetrics(integration)];
  const states: string[] = integration.destinations().map((destination) => destination.state);
  integration.postIdentityFetch({ environmentKey: 'env', identity: { identifier: response.identifier }, flags: response.flags });
  await Promise.all([test.close(), integration.close(), dataPlane.close()]);
  for (const collection of collected) collection.stop();
  return { ...integration.stats(), queued: states.length };
}
`;

const RESOLUTIONS = [
  { name: 'node16 (CommonJS)', file: 'consumer.ts', options: { module: 'node16', moduleResolution: 'node16' } },
  { name: 'node16 (ES module)', file: 'consumer.mts', options: { module: 'node16', moduleResolution: 'node16' } },
  { name: 'bundler', file: 'consumer.ts', options: { module: 'esnext', moduleResolution: 'bundler' } },
  { name: 'node (node10)', file: 'consumer.ts', options: { module: 'commonjs', moduleResolution: 'node' } },
];

/** What the TypeScript checks need, which a production install does not have (the metrics peers again: npm prunes what --no-save added). */
function installDevTools(project) {
  const devTools = ['typescript', '@types/node'].map((name) => `${name}@${PKG.devDependencies[name]}`);
  ok(NPM, ['install', '--no-save', ...NPM_FLAGS, ...devTools, ...METRICS_PEERS], project);
}

/** The metrics subpaths, each with the peer it needs and the call that needs it. */
const METRICS_SUBPATHS = [
  { subpath: 'prometheus', collect: 'collectPrometheusMetrics', peer: 'prom-client' },
  { subpath: 'opentelemetry', collect: 'collectOpenTelemetryMetrics', peer: '@opentelemetry/api' },
];
const NEW_INTEGRATION = "new (require('flagsmith-rudderstack').RudderStackIntegration)({ config: {} })";

function checkMetricsWithoutPeers(project) {
  for (const { subpath, collect, peer } of METRICS_SUBPATHS) {
    check(`/${subpath} without ${peer}: require and import work; ${collect}() fails in one line saying to npm install ${peer}`, () => {
      node(project, ['-e', `require('flagsmith-rudderstack/${subpath}')`]);
      node(project, [
        '--input-type=module',
        '-e',
        `import { ${collect} } from 'flagsmith-rudderstack/${subpath}'; if (typeof ${collect} !== 'function') process.exit(1);`,
      ]);
      const result = run(process.execPath, ['-e', `require('flagsmith-rudderstack/${subpath}').${collect}(${NEW_INTEGRATION})`], project);
      const escaped = peer.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      const line = new RegExp(`^MissingPeerError: ${escaped} is not installed: .*; run npm install ${escaped}$`, 'm');
      assert(result.code !== 0 && line.test(result.stderr), result.stderr);
    });
  }
  check('sink --metrics-port without prom-client: one line saying to npm install it there', () => {
    const bin = path.join(project, 'node_modules', PKG.name, PKG.bin[PKG.name]);
    const result = run(process.execPath, [bin, 'sink', '--port', '0', '--metrics-port', '0'], project, {}, 60_000);
    failsInOneLine(result);
    assert(/sink --metrics-port needs prom-client, which is not installed here: run npm install prom-client@\d+ in /.test(result.stderr), result.stderr);
  });
}

/** The metrics subpaths' peers, and the SDK that reads OpenTelemetry's instruments. */
const METRICS_PEERS = ['prom-client', '@opentelemetry/api', '@opentelemetry/sdk-metrics'].map((name) => `${name}@${PKG.devDependencies[name]}`);

function checkMetricsWithPeers(project) {
  ok(NPM, ['install', '--no-save', ...NPM_FLAGS, ...METRICS_PEERS], project);
  check('/prometheus with prom-client: a scrape shows the hook call', () => {
    node(project, [
      '-e',
      `
      const assert = require('node:assert');
      const { Registry } = require('prom-client');
      const { collectPrometheusMetrics } = require('flagsmith-rudderstack/prometheus');
      const integration = ${NEW_INTEGRATION};
      const { registry } = collectPrometheusMetrics(integration, { registry: new Registry() });
      integration.postIdentityFetch({ environmentKey: 'env', identity: { identifier: 'u' }, flags: [] });
      registry.metrics().then((text) => {
        assert.match(text, /^flagsmith_rudderstack_events_received_total 1$/m);
        return integration.close();
      });
    `,
    ]);
  });
  check('/opentelemetry with @opentelemetry/api and the SDK (import): a collection shows the hook call', () => {
    node(project, [
      '--input-type=module',
      '-e',
      `
      import assert from 'node:assert';
      import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
      import { RudderStackIntegration } from 'flagsmith-rudderstack';
      import { collectOpenTelemetryMetrics } from 'flagsmith-rudderstack/opentelemetry';
      class Reader extends MetricReader { async onForceFlush() {} async onShutdown() {} }
      const reader = new Reader();
      const provider = new MeterProvider({ readers: [reader] });
      const integration = new RudderStackIntegration({ config: {} });
      collectOpenTelemetryMetrics(integration, { meter: provider.getMeter('consumer') });
      integration.postIdentityFetch({ environmentKey: 'env', identity: { identifier: 'u' }, flags: [] });
      const { resourceMetrics } = await reader.collect();
      const metric = resourceMetrics.scopeMetrics[0].metrics.find((m) => m.descriptor.name === 'flagsmith_rudderstack_events_received');
      assert.strictEqual(metric.dataPoints[0].value, 1);
      await Promise.all([integration.close(), provider.shutdown()]);
    `,
    ]);
  });
}

function checkTypeScript(project) {
  for (const { name, file, options } of RESOLUTIONS) {
    check(`TypeScript strict consumer, moduleResolution ${name}: root, /testing, /prometheus and /opentelemetry compile`, () => {
      const dir = fs.mkdtempSync(path.join(project, 'ts-'));
      fs.writeFileSync(path.join(dir, file), CONSUMER_TS);
      const compilerOptions = { ...options, target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] };
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [file] }));
      const result = run(process.execPath, [path.join(project, 'node_modules/typescript/bin/tsc'), '-p', dir], project);
      assert(result.code === 0, result.stdout + result.stderr);
    });
  }
}

function main() {
  const keep = process.argv.includes('--keep');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flagsmith-rudderstack-consumer-'));
  const project = path.join(work, 'project');
  fs.mkdirSync(project);
  try {
    const tarball = pack(work);
    checkTarball(tarball.files);
    checkProductionInstall(project, tarball.file);
    checkRuntime(project);
    checkMetricsWithoutPeers(project);
    checkPeerLines(work, project, tarball.file);
    checkMetricsWithPeers(project);
    installDevTools(project);
    checkTypeScript(project);
  } finally {
    if (keep) process.stdout.write(`kept ${work}\n`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
  if (failures > 0) {
    process.stdout.write(`${failures} check(s) failed\n`);
    process.exitCode = 1;
  }
}

main();
