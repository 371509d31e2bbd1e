/**
 * The settings endpoints as the root entry exports them: the handler's modules (routing, body
 * reading, Python's wording, field checks) load when a host creates a handler, not when it
 * imports the package.
 */
import type { SettingsHandler, SettingsHandlerOptions } from './handler';

export type { AuthorizeRequest, AuthorizeResult, SettingsAuthorize, SettingsHandler, SettingsHandlerOptions } from './handler';

/**
 * Flagsmith's RudderStack integration settings endpoints as one handler for Node's http,
 * Connect and Express, and Fastify (through its raw request and reply). Throws TypeError without
 * `authorize` or a store.
 */
export function createSettingsHandler(options: SettingsHandlerOptions): SettingsHandler {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./handler') as typeof import('./handler')).createSettingsHandler(options);
}
