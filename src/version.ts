// Read from package.json so the library version sent with every event can never drift from the release.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require('../package.json') as { name: string; version: string };

export const LIBRARY_NAME: string = pkg.name;
export const LIBRARY_VERSION: string = pkg.version;
