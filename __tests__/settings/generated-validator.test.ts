import * as fs from 'node:fs';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { validatorSource, OUTPUT_FILE } = require('../../scripts/build-validator') as { validatorSource(): string; OUTPUT_FILE: string };

describe('the settings validator compiled at build time', () => {
  it('is what ajv compiles src/settings/schema.ts to today (run npm run build after changing the schema)', () => {
    expect(fs.readFileSync(OUTPUT_FILE, 'utf8')).toBe(validatorSource());
  });

  it('imports only files of this package: nothing of ajv at run time', () => {
    const source = fs.readFileSync(OUTPUT_FILE, 'utf8');
    expect(source).not.toMatch(/\brequire\(/);
    expect([...source.matchAll(/\bfrom '([^']+)'/g)].map((match) => match[1])).toEqual(['./code-points']);
  });
});
