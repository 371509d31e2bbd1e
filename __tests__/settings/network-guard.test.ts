import * as http from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { createGuardedLookup, internalAddressRange, isInternalAddress, isInternalHostname } from '../../src/settings/network-guard';

describe('isInternalAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.0.0.5', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fe80::1%eth0', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd00::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::127.0.0.1', 'reserved'],
    ['::8.8.8.8', 'reserved'],
    ['::ffff:0:10.0.0.1', 'rfc6145'],
    ['64:ff9b::a00:1', 'rfc6052'],
    ['2002:a00:1::', '6to4'],
    ['2001:db8::1', 'reserved'],
    ['8000::1', 'reserved'],
    ['not-an-address', 'not an IP address'],
    ['', 'not an IP address'],
  ])('%j is internal (%s)', (ip, range) => {
    expect(internalAddressRange(ip)).toBe(range);
    expect(isInternalAddress(ip)).toBe(true);
  });

  it.each(['8.8.8.8', '93.184.215.14', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '::ffff:8.8.8.8'])('%j is public', (ip) => {
    expect(internalAddressRange(ip)).toBeUndefined();
    expect(isInternalAddress(ip)).toBe(false);
  });
});

describe('isInternalHostname', () => {
  const localNames = ['localhost', 'localhost.', 'LocalHost', 'api.localhost'];
  it.each([...localNames, '127.0.0.1', '[::1]', '[::ffff:a00:1]', '0.0.0.0'])('%j is internal', (hostname) => {
    expect(isInternalHostname(hostname)).toBe(true);
  });

  const publicNames = ['acme.dataplane.rudderstack.com', 'localhost.example.com', 'notlocalhost', '8.8.8.8'];
  it.each([...publicNames, '[2606:4700:4700::1111]'])('%j is not (names are judged on resolving)', (hostname) => {
    expect(isInternalHostname(hostname)).toBe(false);
  });
});

/** A resolver that answers every name with `addresses`, recording the options it was given. */
function stubResolver(addresses: LookupAddress[]): { resolve: LookupFunction; calls: object[] } {
  const calls: object[] = [];
  const resolve: LookupFunction = (_hostname, options, callback) => {
    calls.push(options);
    process.nextTick(() => callback(null, addresses));
  };
  return { resolve, calls };
}

function lookUp(
  lookup: LookupFunction,
  options: { all?: boolean; family?: number },
): Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }> {
  return new Promise((resolve) => {
    lookup('data.example', options, (error, address, family) => resolve({ error, address, family }));
  });
}

describe('createGuardedLookup', () => {
  const PUBLIC_V4 = { address: '93.184.215.14', family: 4 };
  const PUBLIC_V6 = { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 };

  it('passes public addresses through in the { all: true } form', async () => {
    const { resolve, calls } = stubResolver([PUBLIC_V4, PUBLIC_V6]);
    const result = await lookUp(createGuardedLookup(resolve), { all: true });
    expect(result.error).toBeNull();
    expect(result.address).toEqual([PUBLIC_V4, PUBLIC_V6]);
    expect(calls).toEqual([{ all: true }]);
  });

  it('answers with the first address in the single-address form, having checked them all', async () => {
    const { resolve, calls } = stubResolver([PUBLIC_V4, PUBLIC_V6]);
    const result = await lookUp(createGuardedLookup(resolve), { family: 0 });
    expect(result).toEqual({ error: null, address: PUBLIC_V4.address, family: 4 });
    expect(calls).toEqual([{ family: 0, all: true }]);
  });

  it('accepts a resolver that answers with a single address string', async () => {
    const resolve: LookupFunction = (_hostname, _options, callback) => callback(null, PUBLIC_V6.address, 6);
    const result = await lookUp(createGuardedLookup(resolve), {});
    expect(result).toEqual({ error: null, address: PUBLIC_V6.address, family: 6 });
  });

  it.each([
    [{ all: true }, []],
    [{}, ''],
  ])('fails with ERR_INTERNAL_ADDRESS when any address is internal (options %j)', async (options, empty) => {
    const { resolve } = stubResolver([PUBLIC_V4, { address: '10.0.0.5', family: 4 }]);
    const result = await lookUp(createGuardedLookup(resolve), options);
    expect(result.address).toEqual(empty);
    expect(result.error?.code).toBe('ERR_INTERNAL_ADDRESS');
    expect(result.error?.message).toBe(
      'data plane host "data.example" resolved to internal address 10.0.0.5; ' + 'set allowPrivateNetworks if this is intended',
    );
  });

  it('refuses an IPv4-mapped internal address', async () => {
    const { resolve } = stubResolver([{ address: '::ffff:127.0.0.1', family: 6 }]);
    const result = await lookUp(createGuardedLookup(resolve), { all: true });
    expect(result.error?.code).toBe('ERR_INTERNAL_ADDRESS');
  });

  it('passes a resolver error through unchanged', async () => {
    const failure: NodeJS.ErrnoException = Object.assign(new Error('getaddrinfo ENOTFOUND data.example'), {
      code: 'ENOTFOUND',
    });
    const resolve: LookupFunction = (_hostname, _options, callback) => callback(failure, []);
    const result = await lookUp(createGuardedLookup(resolve), {});
    expect(result.error).toBe(failure);
  });

  it.each([{ all: true }, {}])('fails with ENOTFOUND when nothing resolved (options %j)', async (options) => {
    const { resolve } = stubResolver([]);
    const result = await lookUp(createGuardedLookup(resolve), options);
    expect(result.error?.code).toBe('ENOTFOUND');
    expect(result.error?.message).toBe('data plane host "data.example" has no address');
  });
});

describe('createGuardedLookup with a real http.Agent', () => {
  let server: http.Server;
  let port: number;
  let requestsServed = 0;

  beforeAll(async () => {
    server = http.createServer((_request, response) => {
      requestsServed += 1;
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  function get(agent: http.Agent, host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const request = http.request({ host, port, path: '/', agent }, (response) => {
        response.setEncoding('utf8');
        let body = '';
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve(body));
      });
      request.on('error', reject);
      request.end();
    });
  }

  it.each([true, false])('refuses to connect to "localhost" (autoSelectFamily: %s)', async (autoSelectFamily) => {
    const guarded = createGuardedLookup();
    const askedForAll: boolean[] = [];
    const lookup: LookupFunction = (hostname, options, callback) => {
      askedForAll.push(options.all === true);
      guarded(hostname, options, callback);
    };
    const agent = new http.Agent({ lookup, autoSelectFamily } as http.AgentOptions);
    try {
      await expect(get(agent, 'localhost')).rejects.toMatchObject({
        code: 'ERR_INTERNAL_ADDRESS',
        message: expect.stringMatching(/^data plane host "localhost" resolved to internal address /),
      });
      expect(askedForAll).toEqual([autoSelectFamily]);
      expect(requestsServed).toBe(0);
    } finally {
      agent.destroy();
    }
  });

  it('the same request goes through without the guard (the server is reachable)', async () => {
    const agent = new http.Agent();
    try {
      await expect(get(agent, '127.0.0.1')).resolves.toBe('ok');
    } finally {
      agent.destroy();
    }
  });
});
