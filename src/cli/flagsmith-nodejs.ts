/**
 * What the command line gets from flagsmith-nodejs, an optional peer. When it is missing, the
 * command fails in one line that gives the npx command running it with the peer, which works
 * whether flagsmith-rudderstack was installed in a project, globally, or not at all.
 */
import { loadFlagsmithNodejs, MissingPeerError } from '../host/flagsmith-nodejs';
import { offlineFlagsmith as hostOfflineFlagsmith } from '../host/offline-flagsmith';
import { startReferenceHost as hostStartReferenceHost, type ReferenceHost, type ReferenceHostOptions } from '../host/reference-host';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version';
import { CommandFailure } from './usage';

/** The major version of the peer range in package.json. */
export const FLAGSMITH_NODEJS_SPEC = 'flagsmith-nodejs@8';
/** The demo's client; demo.ts loads it on its own. */
const FLAGSMITH_CLIENT_SPEC = '@flagsmith/flagsmith';

export function offlineFlagsmith(environmentDocumentPath: string): ReturnType<typeof hostOfflineFlagsmith> {
  requireFlagsmithNodejs('backfill', [FLAGSMITH_NODEJS_SPEC]);
  return hostOfflineFlagsmith(environmentDocumentPath);
}

export function startReferenceHost(options: ReferenceHostOptions): Promise<ReferenceHost> {
  requireFlagsmithNodejs('demo', [FLAGSMITH_NODEJS_SPEC, FLAGSMITH_CLIENT_SPEC]);
  return hostStartReferenceHost(options);
}

function requireFlagsmithNodejs(command: string, packages: string[]): void {
  try {
    loadFlagsmithNodejs();
  } catch (error) {
    if (!(error instanceof MissingPeerError)) throw error;
    const npx = ['npx', ...[...packages, `${LIBRARY_NAME}@${LIBRARY_VERSION}`].flatMap((spec) => ['-p', spec]), LIBRARY_NAME, command];
    throw new CommandFailure(
      `${command} needs flagsmith-nodejs, which is not installed here: run ${npx.join(' ')} ... (with the same options), ` +
        `or npm install flagsmith-nodejs where flagsmith-rudderstack is installed`,
    );
  }
}
