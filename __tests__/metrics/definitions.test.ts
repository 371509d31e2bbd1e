/**
 * The metric table follows Flagsmith's conventions, and the README's table is the same table.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_PREFIX, METRICS } from '../../src/metrics/definitions';

/** The label names a metric may have: fixed value sets, or the environment key. Never an identifier or a write key. */
const BOUNDED_LABELS = new Set(['outcome', 'reason', 'status_class', 'state', 'environment_key', 'operation']);

describe('the metric definitions', () => {
  it.each(METRICS.map((definition) => [definition.name, definition]))('%s follows the conventions', (_name, definition) => {
    expect(DEFAULT_PREFIX + definition.name).toMatch(/^flagsmith_[a-z0-9]+(_[a-z0-9]+)*$/);
    if (definition.type === 'counter') expect(definition.name).toMatch(/_total$/);
    else expect(definition.name).not.toMatch(/_total$/);
    if (definition.type === 'histogram') {
      expect(definition.name).toMatch(/_(seconds|bytes|events)$/);
      expect([...definition.buckets].sort((a, b) => a - b)).toEqual(definition.buckets);
    }
    if (definition.unit === 's') expect(definition.name).toMatch(/_seconds(_total)?$/);
    if (definition.unit === 'By') expect(definition.name).toMatch(/_bytes(_total)?$/);
    for (const label of definition.labelNames) expect(BOUNDED_LABELS).toContain(label);
    expect(definition.help).toMatch(/\S/);
  });

  it('names each metric once', () => {
    const names = METRICS.map((definition) => definition.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('is the table the README shows, with the same types and labels', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.split('\n## Monitoring\n')[1]?.split('\n## ')[0] ?? '';
    const rows = [...section.matchAll(/^\| `(flagsmith_rudderstack_\w+)` \| (counter|gauge|histogram) \|([^|]*)\|/gm)].map(([, name, type, labels]) => [
      name,
      type,
      [...labels!.matchAll(/`(\w+)`/g)].map(([, label]) => label),
    ]);
    expect(rows).toEqual(METRICS.map((definition) => [DEFAULT_PREFIX + definition.name, definition.type, [...definition.labelNames]]));
  });
});
