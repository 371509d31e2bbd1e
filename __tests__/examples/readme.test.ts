/** The README's contents list and the examples' manifests, checked against what they describe. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import rootManifest from '../../package.json';

const ROOT = path.resolve(__dirname, '../..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** `## ` headings outside fenced code blocks. */
function sections(markdown: string): string[] {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return [...withoutCode.matchAll(/^## (.+)$/gm)].map((match) => match[1]);
}

test('the README lists every ## section in its contents, in order, and each link leads to one', () => {
  const contents = /^## Contents\n\n((?:- .+\n)+)/m.exec(README);
  expect(contents).not.toBeNull();
  const links = [...(contents as RegExpExecArray)[1].matchAll(/^- \[(.+)\]\(#(.+)\)$/gm)].map((match) => ({ text: match[1], target: match[2] }));
  const headings = sections(README).filter((heading) => heading !== 'Contents');

  expect(links.map((link) => link.text)).toEqual(headings);
  expect(links.map((link) => link.target)).toEqual(headings.map(anchor));
});

describe.each(['express', 'fastify'] as const)('examples/%s', (framework) => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', framework, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
  };

  test('depends on this checkout and on the framework version the root tests it with', () => {
    expect(manifest.dependencies['flagsmith-rudderstack']).toBe('file:../..');
    expect(manifest.dependencies[framework]).toBe(rootManifest.devDependencies[framework]);
    expect(manifest.scripts.start).toBe('node server.js');
  });
});
