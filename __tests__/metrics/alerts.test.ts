/**
 * fixtures/prometheus/alerts.yml: every expression names metrics of the table, the README shows
 * the file as it is, and promtool (where installed) accepts the rules and passes their unit tests
 * (alerts.promtool.yml beside this file: each alert fires on what it is for, and only then).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_PREFIX, METRICS } from '../../src/metrics/definitions';

const RULES = path.join(__dirname, '..', '..', 'fixtures', 'prometheus', 'alerts.yml');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = (parse(fs.readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((group) => group.rules);

/** Series names Prometheus has for each metric: a histogram's are its _bucket, _sum and _count. */
const SERIES = new Set(
  METRICS.flatMap((definition) => {
    const name = DEFAULT_PREFIX + definition.name;
    return definition.type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
  }),
);

describe('the Prometheus alert rules', () => {
  it('are the three a self-hoster starts with: a paused destination, events dropped, the oldest pending event growing old', () => {
    expect(rules.map((rule) => rule.alert)).toEqual([
      'FlagsmithRudderStackDestinationPaused',
      'FlagsmithRudderStackEventsDropped',
      'FlagsmithRudderStackOldestPendingEventOld',
    ]);
  });

  it.each(rules.map((rule) => [rule.alert, rule]))('%s names only metrics of the table, and labels of theirs', (_alert, rule) => {
    const named = [...rule.expr.matchAll(/\bflagsmith_\w+/g)].map(([name]) => name);
    expect(named.length).toBeGreaterThan(0);
    for (const name of named) expect(SERIES).toContain(name);
    const labels = new Set(METRICS.flatMap((definition) => definition.labelNames));
    for (const [, label] of rule.expr.matchAll(/(\w+)\s*(?:=~|!=|!~|=)\s*"/g)) expect(labels).toContain(label);
    for (const [, label] of rule.expr.matchAll(/by \(([^)]*)\)/g)) for (const name of label!.split(/,\s*/)) expect(labels).toContain(name);
    expect(rule.labels?.severity).toBeDefined();
    expect(rule.annotations?.summary).toMatch(/\S/);
  });

  it('are shown in the README as the file has them', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const shown = /```yaml\n(# Prometheus alert rules to start with for flagsmith-rudderstack[^]*?)```/.exec(readme)?.[1];
    expect(shown).toBe(fs.readFileSync(RULES, 'utf8'));
  });
});

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
if (!promtool)
  console.info('promtool tests SKIPPED: promtool is not installed (Debian: apt-get install prometheus). The rules are still parsed and checked above.');

(promtool ? describe : describe.skip)('promtool', () => {
  it('accepts the rules', () => {
    expect(execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' })).toMatch(/SUCCESS: 3 rules found/);
  });

  it('passes their unit tests: each alert fires on what it is for, and stays quiet otherwise', () => {
    expect(execFileSync('promtool', ['test', 'rules', path.join(__dirname, 'alerts.promtool.yml')], { encoding: 'utf8' })).toMatch(/SUCCESS/);
  });
});
