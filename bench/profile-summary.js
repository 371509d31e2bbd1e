'use strict';
/**
 * Summarizes a V8 .cpuprofile (from `node bench/run.js --profile`): self time by function and
 * by file, so one can see where a contender's CPU goes.
 *
 *   node bench/profile-summary.js bench/profiles/plugin-gzip-....cpuprofile [--top 30]
 */
const fs = require('node:fs');
const path = require('node:path');

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/profile-summary.js FILE.cpuprofile [--top N]');
  process.exit(2);
}
const topIndex = process.argv.indexOf('--top');
const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 30;

const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map();
// timeDeltas[i] is the time before samples[i] was taken.
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) || 0) + (profile.timeDeltas[i] || 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const root = path.resolve(__dirname, '..');
function where(frame) {
  const url = frame.url.replace('file://', '').replace(root + '/', '');
  return url ? `${url}:${frame.lineNumber + 1}` : '(native)';
}

const byFunction = new Map();
const byFile = new Map();
for (const [id, us] of selfUs) {
  const frame = byId.get(id).callFrame;
  const fn = `${frame.functionName || '(anonymous)'}  ${where(frame)}`;
  byFunction.set(fn, (byFunction.get(fn) || 0) + us);
  const group = frame.url
    ? frame.url
        .replace('file://', '')
        .replace(root + '/', '')
        .replace(/node_modules\/([^/]+)\/.*/, 'node_modules/$1')
    : frame.functionName || '(native)';
  byFile.set(group, (byFile.get(group) || 0) + us);
}
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
const ms = (us) => `${(us / 1000).toFixed(0).padStart(6)} ms`;
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled on the main thread\n\nself time by function:`);
for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)} ${ms(us)}  ${fn}`);
console.log('\nself time by file:');
for (const [f, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)} ${ms(us)}  ${f}`);
