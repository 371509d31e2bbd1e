import { actionOf, allowedMethods, matchRoute, parseId, permissionOf, routeTemplate } from '../../src/settings-api/routes';

const BASE = '/api/v1/';

describe('matchRoute', () => {
  it.each([
    ['/api/v1/environments/K/integrations/rudderstack/', { kind: 'list', environmentKey: 'K' }],
    ['/api/v1/environments/K/integrations/rudderstack/?format=json', { kind: 'list', environmentKey: 'K' }],
    ['/api/v1/environments/K/integrations/rudderstack/7/', { kind: 'detail', environmentKey: 'K', id: '7' }],
    ['/api/v1/environments/K/integrations/rudderstack/../', { kind: 'detail', environmentKey: 'K', id: '..' }],
    ['/api/v1/environments/K/integrations/rudderstack/%00/', { kind: 'detail', environmentKey: 'K', id: '\u0000' }],
    ['/api/v1/environments/%4B/integrations/rudderstack/%ff/', { kind: 'detail', environmentKey: 'K', id: '%ff' }],
    ['http://api.example/api/v1/environments/K/integrations/rudderstack/', { kind: 'list', environmentKey: 'K' }],
  ])('%s', (url, route) => {
    expect(matchRoute(url, BASE)).toEqual(route);
  });

  it.each([
    '/api/v1/environments/K/integrations/rudderstack',
    '/api/v1/environments//integrations/rudderstack/',
    '/api/v1/environments/K/integrations/rudderstack//',
    '/api/v1/environments/K/integrations/rudderstack/7/x/',
    '/api/v1/environments/K/integrations/mixpanel/',
    '/api/v1/environments/a%2Fb/integrations/rudderstack/',
    '/api/v1/identities/',
    '/v1/environments/K/integrations/rudderstack/',
  ])('%s is not a settings route', (url) => {
    expect(matchRoute(url, BASE)).toBeUndefined();
  });
});

describe('actions', () => {
  it("maps methods to DRF's actions, HEAD as GET, and asks 'view' only to read", () => {
    const list = { kind: 'list', environmentKey: 'K' } as const;
    const detail = { kind: 'detail', environmentKey: 'K', id: '1' } as const;
    expect(['GET', 'HEAD', 'POST', 'PUT', 'constructor'].map((method) => actionOf(list, method))).toEqual(['list', 'list', 'create', undefined, undefined]);
    expect(['GET', 'PUT', 'PATCH', 'DELETE', 'POST'].map((method) => actionOf(detail, method))).toEqual([
      'retrieve',
      'update',
      'partial_update',
      'destroy',
      undefined,
    ]);
    expect((['list', 'retrieve', 'create', 'update', 'partial_update', 'destroy'] as const).map(permissionOf)).toEqual([
      'view',
      'view',
      'admin',
      'admin',
      'admin',
      'admin',
    ]);
    expect([allowedMethods(list), allowedMethods(detail)]).toEqual(['GET, POST, HEAD', 'GET, PUT, PATCH, DELETE, HEAD']);
    expect(routeTemplate(detail)).toBe('environments/{environment_api_key}/integrations/rudderstack/{id}/');
  });
});

describe('parseId', () => {
  it.each([
    ['7', 7n],
    ['007', 7n],
    ['+7', 7n],
    ['-7', -7n],
    [' 7 ', 7n],
    ['1_000', 1000n],
    ['9'.repeat(4300), BigInt('9'.repeat(4300))],
  ])('%s reads as Python int() reads it', (id, value) => {
    expect(parseId(id)).toBe(value);
  });

  it.each(['', 'abc', '1.0', '1e3', '0x10', '1__0', '_1', '1;DROP', '\u0000', '9'.repeat(4301)])('%j is not an integer to Python', (id) => {
    expect(parseId(id)).toBeUndefined();
  });
});
