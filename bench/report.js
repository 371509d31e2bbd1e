'use strict';
/**
 * Turns rounds of contender results into the printed report: the machine, the table (medians
 * with min-max over verified rounds), the ratios between contenders, and the issue's targets.
 */
const os = require('node:os');

function machine() {
  const cpus = os.cpus();
  const { name, version } = require('../package.json');
  let commit = 'unknown';
  try {
    commit = require('node:child_process')
      .execSync('git rev-parse --short HEAD', { cwd: __dirname, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    const dirty = require('node:child_process')
      .execSync('git status --porcelain -- src', { cwd: __dirname, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    if (dirty) commit += ' (src modified)';
  } catch {
    // not a git checkout
  }
  return {
    cores: cpus.length,
    cpuModel: cpus[0] ? cpus[0].model.trim() : 'unknown',
    memoryGB: os.totalmem() / 2 ** 30,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    pkg: `${name}@${version}`,
    commit,
    loadavg: os.loadavg(),
  };
}

function machineLine(m) {
  return `machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGB.toFixed(1)} GB, node ${m.node}, ${m.platform}; ${m.pkg} at commit ${m.commit}; load average at start ${m.loadavg.map((l) => l.toFixed(2)).join(' ')}${m.loadavgEnd ? `, at end ${m.loadavgEnd.map((l) => l.toFixed(2)).join(' ')}` : ''}`;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function fmt(value) {
  if (value === undefined || value === null || Number.isNaN(value)) return '-';
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** "median (min-max)" of one figure over rounds; the median alone when there is one round. */
function spread(values) {
  if (values.length === 0) return '-';
  if (values.length === 1) return fmt(values[0]);
  return `${fmt(median(values))} (${fmt(Math.min(...values))}-${fmt(Math.max(...values))})`;
}

const FIGURES = {
  eventsPerSec: (r) => r.eventsPerSec,
  cpuUsPerEvent: (r) => r.cpuUsPerEvent,
  p50: (r) => r.latency && r.latency.p50,
  p99: (r) => r.latency && r.latency.p99,
  max: (r) => r.latency && r.latency.max,
  rss: (r) => r.maxRssMB,
  requests: (r) => r.server.requests,
  serverBusy: (r) => (100 * r.server.serverCpuMs) / r.elapsedMs,
};

/** Per contender: rounds, verified rounds, and per figure the values of verified rounds. */
function summarize(results, order) {
  const byName = new Map(order.map((name) => [name, { name, runs: [], failures: [] }]));
  for (const r of results) {
    const entry = byName.get(r.contender);
    entry.runs.push(r);
    if (!r.verified) entry.failures.push(r.failure);
  }
  for (const entry of byName.values()) {
    const good = entry.runs.filter((r) => r.verified);
    entry.values = {};
    for (const [figure, read] of Object.entries(FIGURES)) {
      entry.values[figure] = good.map(read).filter((v) => typeof v === 'number' && Number.isFinite(v));
    }
    entry.median = (figure) => (entry.values[figure].length ? median(entry.values[figure]) : undefined);
    entry.failed = entry.failures.length > 0;
  }
  return [...byName.values()];
}

function table(headers, rows) {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

function mainTable(summary) {
  return table(
    ['contender', 'verified', 'events/s', 'CPU µs/event', 'call p50 µs', 'call p99 µs', 'call max µs', 'peak RSS MB', 'requests', 'data plane busy %'],
    summary.map((e) => {
      const v = e.values;
      const verified = e.failed ? `FAILED ${e.failures.length}/${e.runs.length}` : `${e.runs.length}/${e.runs.length}`;
      return [
        e.name,
        verified,
        spread(v.eventsPerSec),
        spread(v.cpuUsPerEvent),
        spread(v.p50),
        spread(v.p99),
        spread(v.max),
        spread(v.rss),
        spread(v.requests),
        spread(v.serverBusy),
      ];
    }),
  );
}

function ratio(a, b) {
  return a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`;
}

/** Each plugin variant against each other contender, on medians. */
function ratioTable(summary) {
  const rows = [];
  for (const a of summary.filter((e) => e.name.startsWith('plugin'))) {
    for (const b of summary) {
      if (a === b) continue;
      rows.push([
        `${a.name} / ${b.name}`,
        ratio(a.median('eventsPerSec'), b.median('eventsPerSec')),
        ratio(a.median('cpuUsPerEvent'), b.median('cpuUsPerEvent')),
        ratio(a.median('p50'), b.median('p50')),
        ratio(a.median('p99'), b.median('p99')),
        ratio(a.median('rss'), b.median('rss')),
      ]);
    }
  }
  return table(['ratio (medians)', 'events/s', 'CPU/event', 'call p50', 'call p99', 'peak RSS'], rows);
}

function targetsTable(summary) {
  const get = (name) => summary.find((e) => e.name === name);
  const plugin = get('plugin gzip');
  const plain = get('plugin no-gzip');
  const rudder = get('rudder-sdk-node');
  const wire = get('wire limit');
  if (!plugin || !plain || !rudder || !wire) return '(targets need all contenders)';
  const rows = [];
  const check = (label, target, measured, ok) => rows.push([label, target, measured, ok === undefined ? '-' : ok ? 'met' : 'MISSED']);
  const r = (a, b) => (a !== undefined && b ? a / b : undefined);
  const evG = r(plugin.median('eventsPerSec'), rudder.median('eventsPerSec'));
  const evP = r(plain.median('eventsPerSec'), rudder.median('eventsPerSec'));
  check('events/s vs rudder-sdk-node (gzip / no-gzip)', '>= 3x', `${fmt(evG)}x / ${fmt(evP)}x`, evG !== undefined && evG >= 3);
  const w = r(plain.median('eventsPerSec'), wire.median('eventsPerSec'));
  check('events/s vs wire limit (no-gzip)', '>= 0.9x (1.0x overlapping)', `${fmt(w)}x`, w !== undefined && w >= 0.9);
  const cG = r(plugin.median('cpuUsPerEvent'), rudder.median('cpuUsPerEvent'));
  const cP = r(plain.median('cpuUsPerEvent'), rudder.median('cpuUsPerEvent'));
  check('CPU/event vs rudder-sdk-node (gzip / no-gzip)', '<= 0.33x', `${fmt(cG)}x / ${fmt(cP)}x`, cG !== undefined && cG <= 0.33);
  const p50 = plugin.median('p50');
  const p99 = plugin.median('p99');
  check('hook p50 / p99, 20 flags (gzip)', '<= 5 / <= 25 µs', `${fmt(p50)} / ${fmt(p99)} µs`, p50 !== undefined && p50 <= 5 && p99 <= 25);
  const rss = plugin.median('rss');
  const rr = rudder.median('rss');
  check('peak RSS (gzip) vs rudder-sdk-node', "<= rudder's", `${fmt(rss)} MB vs ${fmt(rr)} MB`, rss !== undefined && rr !== undefined && rss <= rr);
  return table(['target (issue 4)', 'target', 'measured', ''], rows);
}

function failuresText(summary) {
  const lines = [];
  for (const e of summary) for (const f of e.failures) lines.push(`FAILED ${e.name}: ${f}`);
  return lines.join('\n');
}

module.exports = { machine, machineLine, summarize, mainTable, ratioTable, targetsTable, failuresText, table, fmt, median, spread };
