/**
 * Optional peers on the command line: flagsmith-nodejs (backfill, demo) and prom-client
 * (`--metrics-port`). When one is missing, the command fails in one line that says how to get it:
 * in a project, `npm install` it there; otherwise (npx, a global install) the npx command that
 * runs this command with it. npx installs only what the current project lacks, so its line would
 * not help a project that has flagsmith-rudderstack.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadFlagsmithNodejs, MissingPeerError, requireOptionalPeer } from '../host/flagsmith-nodejs';
import { offlineFlagsmith as hostOfflineFlagsmith } from '../host/offline-flagsmith';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version';
import { CommandFailure } from './usage';

/** The major version of the peer range in package.json. */
export const FLAGSMITH_NODEJS_SPEC = 'flagsmith-nodejs@8';
/** The major version of prom-client's peer range in package.json. */
export const PROM_CLIENT_SPEC = 'prom-client@15';
/** What each command needs besides flagsmith-rudderstack: the demo drives the host with Flagsmith's JavaScript client. */
const PACKAGES_FOR = { backfill: [FLAGSMITH_NODEJS_SPEC], demo: [FLAGSMITH_NODEJS_SPEC, '@flagsmith/flagsmith'], sink: [] };

export function offlineFlagsmith(environmentDocumentPath: string): ReturnType<typeof hostOfflineFlagsmith> {
  requireFlagsmithNodejs('backfill');
  return hostOfflineFlagsmith(environmentDocumentPath);
}

/** Throws CommandFailure when flagsmith-nodejs is missing; call it before the command starts anything. */
export function requireFlagsmithNodejs(command: 'backfill' | 'demo'): void {
  requirePeer(command, 'flagsmith-nodejs', PACKAGES_FOR[command], loadFlagsmithNodejs);
}

/** Throws CommandFailure when prom-client, which `--metrics-port` needs, is missing. */
export function requirePromClient(command: 'demo' | 'sink'): void {
  requirePeer(`${command} --metrics-port`, 'prom-client', [...PACKAGES_FOR[command], PROM_CLIENT_SPEC], () => requireOptionalPeer('prom-client'), command);
}

/** True when prom-client can be loaded here. */
export function hasPromClient(): boolean {
  try {
    requireOptionalPeer('prom-client');
    return true;
  } catch (error) {
    if (error instanceof MissingPeerError) return false;
    throw error;
  }
}

function requirePeer(what: string, name: string, packages: string[], load: () => unknown, command = what): void {
  try {
    load();
  } catch (error) {
    if (!(error instanceof MissingPeerError)) throw error;
    const project = projectOf(__dirname);
    const howTo = project
      ? `run npm install ${packages.join(' ')} in ${project}, then try again`
      : `run ${['npx', ...[...packages, `${LIBRARY_NAME}@${LIBRARY_VERSION}`].flatMap((spec) => ['-p', spec]), LIBRARY_NAME, command].join(' ')} ... (with the same options)`;
    throw new CommandFailure(`${what} needs ${name}, which is not installed here: ${howTo}`);
  }
}

/** The project whose node_modules holds this package; undefined under npx's cache or a global install. */
function projectOf(dir: string): string | undefined {
  const parts = dir.split(path.sep);
  const at = parts.indexOf('node_modules');
  if (at < 0 || parts.includes('_npx')) return undefined;
  const root = parts.slice(0, at).join(path.sep) || path.sep;
  return fs.existsSync(path.join(root, 'package.json')) ? root : undefined;
}
