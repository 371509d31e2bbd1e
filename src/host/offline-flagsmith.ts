import type { Flagsmith } from 'flagsmith-nodejs';
import { loadFlagsmithNodejs } from './flagsmith-nodejs';

/** A flagsmith-nodejs client that evaluates flags from an environment document file, without any network. */
export function offlineFlagsmith(environmentDocumentPath: string): Flagsmith {
  const { Flagsmith, LocalFileHandler } = loadFlagsmithNodejs();
  return new Flagsmith({ offlineMode: true, offlineHandler: new LocalFileHandler(environmentDocumentPath) });
}
