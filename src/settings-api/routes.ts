/**
 * Flagsmith's two routes (trailing slash required):
 *   {basePath}environments/{environment_api_key}/integrations/rudderstack/        GET, POST
 *   {basePath}environments/{environment_api_key}/integrations/rudderstack/{id}/   GET, PUT, PATCH, DELETE
 * HEAD is answered as GET. The path is percent-decoded before it is matched, as Django does.
 */

/** A request on one of the routes. */
export interface SettingsRoute {
  kind: 'list' | 'detail';
  /** The environment's key from the path, decoded; nothing checked yet. */
  environmentKey: string;
  /** The detail route's `{id}`, decoded; nothing checked yet. */
  id?: string;
}

/** DRF's viewset actions. */
export type SettingsAction = 'list' | 'create' | 'retrieve' | 'update' | 'partial_update' | 'destroy';

/** In DRF's order, which is the order of its Allow header. */
const ACTIONS: Record<SettingsRoute['kind'], Record<string, SettingsAction>> = {
  list: { GET: 'list', POST: 'create', HEAD: 'list' },
  detail: { GET: 'retrieve', PUT: 'update', PATCH: 'partial_update', DELETE: 'destroy', HEAD: 'retrieve' },
};

/** The template of a route, for logs: never the key or id of a request. */
export function routeTemplate(route: SettingsRoute): string {
  return `environments/{environment_api_key}/integrations/rudderstack/${route.kind === 'detail' ? '{id}/' : ''}`;
}

/** The route of a request path (a query string is ignored), or undefined when it is not one of them. */
export function matchRoute(url: string, basePath: string): SettingsRoute | undefined {
  const path = decodePath(pathOf(url));
  const prefix = `${basePath}environments/`;
  if (!path.startsWith(prefix)) return undefined;
  const [environmentKey, integrations, rudderstack, ...rest] = path.slice(prefix.length).split('/');
  if (!environmentKey || integrations !== 'integrations' || rudderstack !== 'rudderstack') return undefined;
  if (rest.length === 1 && rest[0] === '') return { kind: 'list', environmentKey };
  if (rest.length === 2 && rest[0] !== '' && rest[1] === '') return { kind: 'detail', environmentKey, id: rest[0] };
  return undefined;
}

/** The action of a method on a route; undefined for a method the route does not allow (405). */
export function actionOf(route: SettingsRoute, method: string | undefined): SettingsAction | undefined {
  return Object.hasOwn(ACTIONS[route.kind], method ?? '') ? ACTIONS[route.kind][method as string] : undefined;
}

/** The Allow header of a route. */
export function allowedMethods(route: SettingsRoute): string {
  return Object.keys(ACTIONS[route.kind]).join(', ');
}

/** What authorize is asked: reading needs VIEW_ENVIRONMENT, writing needs environment admin. */
export function permissionOf(action: SettingsAction): 'view' | 'admin' {
  return action === 'list' || action === 'retrieve' ? 'view' : 'admin';
}

/** Python's int(): surrounding whitespace, a sign, underscores between digits. */
const PYTHON_INT = /^\s*([+-]?)([0-9]+(?:_[0-9]+)*)\s*$/;
/** CPython refuses to convert longer digit strings (sys.int_info.default_max_str_digits). */
const MAX_INT_DIGITS = 4300;

/**
 * The `{id}` as Django's lookup reads it (int()), or undefined when that fails, which Flagsmith
 * answers with its generic 404. It is compared with stored ids, never sent to the database.
 */
export function parseId(id: string): bigint | undefined {
  const match = PYTHON_INT.exec(id);
  if (!match) return undefined;
  const digits = match[2].replaceAll('_', '');
  if (digits.length > MAX_INT_DIGITS) return undefined;
  const value = BigInt(digits);
  return match[1] === '-' ? -value : value;
}

function pathOf(url: string): string {
  const path = url.split('?')[0];
  if (path.startsWith('/')) return path;
  // An absolute-form request target (a request sent as to a proxy).
  try {
    return new URL(path).pathname;
  } catch {
    return path;
  }
}

/** Percent-decoded as Django does; a sequence that is not UTF-8 stays as it was written. */
function decodePath(path: string): string {
  return path.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}
