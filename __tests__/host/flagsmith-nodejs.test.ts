import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadFlagsmithNodejs, MissingPeerError, requireOptionalPeer } from '../../src/host/flagsmith-nodejs';
import { FLAGSMITH_NODEJS_SPEC } from '../../src/cli/flagsmith-nodejs';
import pkg from '../../package.json';

describe('the optional peer flagsmith-nodejs', () => {
  test('loads when installed', () => {
    expect(typeof loadFlagsmithNodejs().Flags.fromAPIFlags).toBe('function');
  });

  test('an absent peer: one line saying how to install it', () => {
    const name = 'flagsmith-rudderstack-absent-peer';
    let thrown: unknown;
    try {
      requireOptionalPeer(name);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MissingPeerError);
    expect((thrown as Error).message).toBe(
      `${name} is not installed: flagsmith-rudderstack needs it here (an optional peer dependency); run npm install ${name}`,
    );
  });

  test('a peer that is there but cannot load throws its own error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'broken-peer-'));
    const broken = path.join(dir, 'index.js');
    fs.writeFileSync(broken, "require('a-dependency-the-peer-lost');\n");
    try {
      expect(() => requireOptionalPeer(broken)).toThrow(/Cannot find module 'a-dependency-the-peer-lost'/);
      expect(() => requireOptionalPeer(broken)).not.toThrow(MissingPeerError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('is an optional peer, and the npx line asks for the major version of its range', () => {
    expect(pkg.peerDependenciesMeta['flagsmith-nodejs']).toEqual({ optional: true });
    expect(pkg.dependencies).not.toHaveProperty('flagsmith-nodejs');
    expect(pkg.peerDependencies['flagsmith-nodejs']).toMatch(new RegExp(`^\\^${FLAGSMITH_NODEJS_SPEC.split('@')[1]}\\.`));
  });
});
