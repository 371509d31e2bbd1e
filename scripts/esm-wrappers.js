'use strict';
// Writes an ES module beside each CommonJS entry point that re-exports its names, so `import`
// and `require` share one copy of the code (no dual-package hazard: one queue, one set of timers).
const fs = require('node:fs');
const path = require('node:path');

const ENTRY_POINTS = ['dist/index.js', 'dist/testing/index.js', 'dist/metrics/prometheus.js', 'dist/metrics/opentelemetry.js'];

for (const entry of ENTRY_POINTS) {
  const file = path.resolve(__dirname, '..', entry);
  const names = Object.keys(require(file)).filter((name) => name !== 'default' && name !== '__esModule');
  const base = './' + path.basename(file);
  const mjs = [`import cjs from '${base}';`, `export const { ${names.join(', ')} } = cjs;`, ''].join('\n');
  fs.writeFileSync(file.replace(/\.js$/, '.mjs'), mjs);
  fs.writeFileSync(file.replace(/\.js$/, '.d.mts'), `export * from '${base}';\n`);
}
