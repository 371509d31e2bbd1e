'use strict';
/**
 * Cold require time of the package's entry points (issue 13): each run is a fresh Node process
 * that times one `require()` of the built entry, so nothing is cached between runs.
 *
 *   npm run bench:cold-require [-- --runs 10] [-- --entry dist/testing] [-- --construct] [-- --json]
 *
 * Prints every run and the median. `--construct` also times `new RudderStackIntegration()` after
 * the require (the delivery engine loads with the first integration, not at import).
 * Build first (`npm run build`); the npm script does.
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

function parseArgs(argv) {
  const args = { runs: 10, entry: 'dist', construct: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--runs':
        args.runs = Number(argv[++i]);
        break;
      case '--entry':
        args.entry = argv[++i];
        break;
      case '--construct':
        args.construct = true;
        break;
      case '--json':
        args.json = true;
        break;
      default:
        throw new Error(`unknown option ${argv[i]}; options: --runs N, --entry PATH, --construct, --json`);
    }
  }
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs needs a whole number >= 1');
  return args;
}

/**
 * One fresh process: milliseconds spent in require() of the entry, on the clock and on the CPU
 * (the CPU time is what the process itself spent, which other load on the machine inflates less).
 */
function coldRequire(entry, construct) {
  const load = `require(${JSON.stringify(path.resolve(ROOT, entry))})`;
  const script =
    'const c = process.cpuUsage(); const t = process.hrtime.bigint();' +
    (construct ? `new (${load}.RudderStackIntegration)({ config: {} }).close();` : `${load};`) +
    'const wall = Number(process.hrtime.bigint() - t) / 1e6; const cpu = process.cpuUsage(c);' +
    'process.stdout.write(JSON.stringify({ wall, cpu: (cpu.user + cpu.system) / 1e3 }));';
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' }));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const runs = Array.from({ length: args.runs }, () => coldRequire(args.entry, args.construct));
  const wall = runs.map((run) => run.wall);
  const cpu = runs.map((run) => run.cpu);
  const result = {
    entry: args.entry,
    construct: args.construct,
    node: process.version,
    wallMs: wall,
    cpuMs: cpu,
    medianMs: median(wall),
    medianCpuMs: median(cpu),
  };
  if (args.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    `cold require(${JSON.stringify(args.entry)})${args.construct ? ' + new RudderStackIntegration()' : ''} on Node ${process.version}, ${args.runs} fresh processes\n` +
      `  wall clock (ms): ${wall.map((ms) => ms.toFixed(1)).join(' ')}\n` +
      `  CPU (ms):        ${cpu.map((ms) => ms.toFixed(1)).join(' ')}\n` +
      `  median: ${result.medianMs.toFixed(1)} ms (CPU ${result.medianCpuMs.toFixed(1)} ms)\n`,
  );
}

main();
