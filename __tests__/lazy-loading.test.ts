import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/** The packages a fresh process has loaded after running `script` against the built package. */
function packagesLoadedBy(script: string): string[] {
  const output = execFileSync(process.execPath, ['-e', `${script}; process.stdout.write(JSON.stringify(Object.keys(require.cache)))`], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const names = (JSON.parse(output) as string[]).flatMap((file) => /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(file)?.[1] ?? []);
  return [...new Set(names)].sort();
}

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist/index.js'))) throw new Error('dist/ is missing: run "npm run build" first');
});

describe('what loading the package loads', () => {
  test('require() of the root loads only what validateSettings uses; the delivery engine loads with the first integration', () => {
    expect(packagesLoadedBy("require('./dist')")).toEqual(['ipaddr.js']);
    expect(packagesLoadedBy("new (require('./dist').RudderStackIntegration)({ config: {} }).close()")).toEqual(['denque', 'ipaddr.js']);
  });

  test('an integration without sendOnlyOnChange does not load lru-cache; one with it does', () => {
    const create = (options: string): string =>
      `const { RudderStackIntegration } = require('./dist'); new RudderStackIntegration({ config: {}, ${options} }).close()`;
    expect(packagesLoadedBy(create(''))).not.toContain('lru-cache');
    expect(packagesLoadedBy(create('sendOnlyOnChange: { ttlMs: 60_000, maxEntries: 100 }'))).toContain('lru-cache');
  });

  test('the metrics subpaths load their optional peer only when called, and the root neither', () => {
    const integration = "new (require('./dist').RudderStackIntegration)({ config: {} })";
    for (const [subpath, collect, peer] of [
      ['prometheus', 'collectPrometheusMetrics', 'prom-client'],
      ['opentelemetry', 'collectOpenTelemetryMetrics', '@opentelemetry/api'],
    ] as const) {
      expect(packagesLoadedBy(`${integration}.close(); require('./dist/metrics/${subpath}')`)).not.toContain(peer);
      expect(packagesLoadedBy(`const i = ${integration}; require('./dist/metrics/${subpath}').${collect}(i); i.close()`)).toContain(peer);
    }
    expect(packagesLoadedBy(`${integration}.close()`).filter((name) => name === 'prom-client' || name.startsWith('@opentelemetry/'))).toEqual([]);
  });

  test('/testing loads neither flagsmith-nodejs nor ajv until sdkFlags is called', () => {
    const loaded = packagesLoadedBy("require('./dist/testing')");
    expect(loaded).not.toContain('flagsmith-nodejs');
    expect(loaded).not.toContain('ajv');
    expect(packagesLoadedBy("require('./dist/testing').sdkFlags({ a: true })")).toContain('flagsmith-nodejs');
  });
});
