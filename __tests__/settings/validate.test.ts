import { checkSettings, SettingsError, validateSettings } from '../../src/settings/validate';

const KEY = '2Xk9QvB7mN4pL8rT1sW6yZ3aC5d';
const HOSTED = 'https://hosted.rudderlabs.com';
const PRIVATE_HINT = 'set allowPrivateNetworks: true if the data plane runs in your own network';

/** The SettingsError validateSettings throws for `input`; fails the test if it returns. */
function settingsErrorOf(input: unknown, allowPrivateNetworks = false): SettingsError {
  try {
    validateSettings(input, { allowPrivateNetworks });
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return error as SettingsError;
  }
  throw new Error(`validateSettings accepted ${JSON.stringify(input)}`);
}

function dataPlaneUrlOf(baseUrl: unknown, allowPrivateNetworks = false): string {
  return validateSettings({ api_key: KEY, base_url: baseUrl }, { allowPrivateNetworks }).dataPlaneUrl;
}

describe('validateSettings: accepted settings', () => {
  it('returns the write key unchanged and the normalised data plane URL', () => {
    expect(validateSettings({ api_key: KEY, base_url: 'https://acme.dataplane.rudderstack.com' })).toEqual({
      writeKey: KEY,
      dataPlaneUrl: 'https://acme.dataplane.rudderstack.com',
    });
  });

  it.each([
    ['absent', {}],
    ['null', { base_url: null }],
    ['empty', { base_url: '' }],
    ['blank', { base_url: '   ' }],
  ])('defaults a %s base_url to the hosted data plane', (_, fields) => {
    expect(validateSettings({ api_key: KEY, ...fields })).toEqual({ writeKey: KEY, dataPlaneUrl: HOSTED });
  });

  it.each([
    ['https://acme.example/', 'https://acme.example'],
    ['https://acme.example///', 'https://acme.example'],
    ['https://acme.example/v1/batch', 'https://acme.example'],
    ['https://acme.example/v1/batch/', 'https://acme.example'],
    ['https://acme.example/v1/identify', 'https://acme.example'],
    ['https://acme.example/v1/identify/', 'https://acme.example'],
    ['https://acme.example/rudder', 'https://acme.example/rudder'],
    ['https://acme.example/rudder/', 'https://acme.example/rudder'],
    ['https://acme.example/rudder/v1/batch', 'https://acme.example/rudder'],
    ['https://acme.example/v1', 'https://acme.example/v1'],
    ['http://acme.example:8080/', 'http://acme.example:8080'],
    ['https://acme.example:443/', 'https://acme.example'],
    ['HTTPS://ACME.Example', 'https://acme.example'],
    ['  https://acme.example  ', 'https://acme.example'],
    ['https://acme.example/?', 'https://acme.example'],
    ['https://8.8.8.8/', 'https://8.8.8.8'],
    ['https://[2606:4700:4700::1111]/', 'https://[2606:4700:4700::1111]'],
    ['http://[::ffff:8.8.8.8]:8080/', 'http://[::ffff:808:808]:8080'],
  ])('normalises %j to %j', (baseUrl, expected) => {
    expect(dataPlaneUrlOf(baseUrl)).toBe(expected);
  });

  it('ignores fields Flagsmith stores besides api_key and base_url', () => {
    const row = { id: 3, uuid: 'a6b1', deleted_at: null, api_key: KEY, base_url: null };
    expect(validateSettings(row)).toEqual({ writeKey: KEY, dataPlaneUrl: HOSTED });
  });

  it('accepts a 100-character key', () => {
    const key = 'k'.repeat(100);
    expect(validateSettings({ api_key: key }).writeKey).toBe(key);
  });
});

describe('validateSettings: the settings object and api_key', () => {
  it.each([
    ['a string', 'not settings'],
    ['null', null],
    ['a list', [KEY]],
    ['a number', 42],
    ['nothing', undefined],
  ])('refuses %s as settings', (kind, input) => {
    expect(settingsErrorOf(input).errors).toEqual([`settings: must be an object like {"api_key": "<write key>", "base_url": "https://..."}, not ${kind}`]);
  });

  it('refuses a missing api_key', () => {
    expect(settingsErrorOf({ base_url: 'https://acme.example' }).errors).toEqual(['api_key: missing; paste the write key of your RudderStack HTTP source']);
  });

  it.each(['', '   ', '\t\n'])('refuses a blank api_key %j with one message', (key) => {
    expect(settingsErrorOf({ api_key: key }).errors).toEqual(['api_key: is blank; paste the write key of your RudderStack HTTP source']);
  });

  it('refuses a 101-character api_key, saying how long it is', () => {
    expect(settingsErrorOf({ api_key: 'k'.repeat(101) }).errors).toEqual([
      'api_key: is 101 characters long, more than the 100 a write key can have; ' + 'paste the write key of your RudderStack HTTP source and nothing else',
    ]);
  });

  it('refuses an api_key that is not text', () => {
    expect(settingsErrorOf({ api_key: 12345 }).errors).toEqual(['api_key: must be text, not a number; paste the write key of your RudderStack HTTP source']);
  });

  it('refuses a base_url that is not text or null', () => {
    expect(settingsErrorOf({ api_key: KEY, base_url: ['https://acme.example'] }).errors).toEqual([
      'base_url: must be text or null, not a list; use the data plane URL from your RudderStack dashboard, ' +
        'e.g. https://yourcompany.dataplane.rudderstack.com',
    ]);
  });

  it('refuses a base_url longer than the 200 characters Flagsmith stores', () => {
    const baseUrl = `https://acme.example/${'p'.repeat(180)}`;
    expect(settingsErrorOf({ api_key: KEY, base_url: baseUrl }).errors).toEqual([
      'base_url: is 201 characters long, more than the 200 Flagsmith stores; use the data plane URL ' +
        'from your RudderStack dashboard, e.g. https://yourcompany.dataplane.rudderstack.com',
    ]);
  });
});

describe('validateSettings: base_url rules', () => {
  it('refuses a scheme other than http or https', () => {
    expect(settingsErrorOf({ api_key: KEY, base_url: 'ftp://x' }).errors).toEqual([
      'base_url: "ftp://x" is not an http or https URL; use the data plane URL from your RudderStack ' +
        'dashboard, e.g. https://yourcompany.dataplane.rudderstack.com',
    ]);
  });

  it.each(['acme.dataplane.rudderstack.com', 'localhost:8080'])('asks for a scheme on %j', (baseUrl) => {
    expect(settingsErrorOf({ api_key: KEY, base_url: baseUrl }).errors).toEqual([
      `base_url: "${baseUrl}" does not start with https:// or http://; type the full URL, ` + 'e.g. https://yourcompany.dataplane.rudderstack.com',
    ]);
  });

  it('refuses a URL that does not parse', () => {
    expect(settingsErrorOf({ api_key: KEY, base_url: 'https://acme example' }).errors).toEqual([
      'base_url: "https://acme example" is not a valid URL; use the data plane URL from your ' +
        'RudderStack dashboard, e.g. https://yourcompany.dataplane.rudderstack.com',
    ]);
  });

  it('refuses userinfo and shows the URL without it', () => {
    expect(settingsErrorOf({ api_key: KEY, base_url: 'https://admin:hunter2@acme.example/x' }).errors).toEqual([
      'base_url: "https://acme.example/x" has a user name or password before the host ("...@"); ' +
        'remove it: the write key belongs in api_key, not in the URL',
    ]);
  });

  it.each([
    ['https://acme.example/?source=flagsmith', 'a query string ("?...")', 'it'],
    ['https://acme.example/#batch', 'a fragment ("#...")', 'it'],
    ['https://acme.example/?a=1#b', 'a query string ("?...") and a fragment ("#...")', 'them'],
  ])('refuses %j because it would break the /v1/batch path', (baseUrl, what, pronoun) => {
    expect(settingsErrorOf({ api_key: KEY, base_url: baseUrl }).errors).toEqual([
      `base_url: "${baseUrl}" has ${what}; remove ${pronoun}: events are sent to base_url + "/v1/batch", ` + 'so the URL must end with the host name or a path',
    ]);
  });

  it('escapes control characters when echoing what was typed', () => {
    const [message] = settingsErrorOf({ api_key: KEY, base_url: 'gopher://a\nb' }).errors;
    expect(message).toContain('"gopher://a\\nb"');
    expect(message).not.toContain('\n');
  });
});

describe('validateSettings: internal addresses', () => {
  it.each([
    ['http://localhost/', 'localhost'],
    ['http://LOCALHOST:8080/', 'localhost'],
    ['http://localhost./', 'localhost'],
    ['http://rudder.localhost/', 'localhost'],
    ['http://127.0.0.1/', '"127.0.0.1", a loopback address'],
    ['http://2130706433/', '"127.0.0.1", a loopback address'],
    ['http://0x7f.1/', '"127.0.0.1", a loopback address'],
    ['http://017700000001/', '"127.0.0.1", a loopback address'],
    ['http://127.1/', '"127.0.0.1", a loopback address'],
    ['http://[::1]/', '"[::1]", a loopback address'],
    ['http://0/', '"0.0.0.0", the unspecified address'],
    ['http://0.0.0.0/', '"0.0.0.0", the unspecified address'],
    ['http://[::]/', '"[::]", the unspecified address'],
    ['http://10.0.0.5/', '"10.0.0.5", a private network (RFC 1918) address'],
    ['http://172.16.3.4/', '"172.16.3.4", a private network (RFC 1918) address'],
    ['http://192.168.1.10/', '"192.168.1.10", a private network (RFC 1918) address'],
    ['http://[::ffff:10.0.0.1]/', '"[::ffff:a00:1]", a private network (RFC 1918) address'],
    ['http://[::ffff:127.0.0.1]/', '"[::ffff:7f00:1]", a loopback address'],
    ['http://169.254.169.254/', '"169.254.169.254", a link-local address'],
    ['http://[fe80::1]/', '"[fe80::1]", a link-local address'],
    ['http://100.64.0.1/', '"100.64.0.1", a carrier-grade NAT (100.64.0.0/10) address'],
    ['http://[fd12:3456::1]/', '"[fd12:3456::1]", a unique-local (fc00::/7) address'],
    ['http://224.0.0.1/', '"224.0.0.1", a multicast address'],
    ['http://[ff02::1]/', '"[ff02::1]", a multicast address'],
    ['http://255.255.255.255/', '"255.255.255.255", the broadcast address'],
    ['http://240.0.0.1/', '"240.0.0.1", a reserved address'],
    ['http://192.0.2.1/', '"192.0.2.1", a reserved address'],
    ['http://[2001:db8::1]/', '"[2001:db8::1]", a reserved address'],
    ['http://[::127.0.0.1]/', '"[::7f00:1]", a reserved address'],
    ['http://[::8.8.8.8]/', '"[::808:808]", a reserved address'],
    ['http://[64:ff9b::a00:1]/', '"[64:ff9b::a00:1]", a NAT64 (64:ff9b::/96) address'],
    ['http://[2002:a00:1::]/', '"[2002:a00:1::]", a 6to4 (2002::/16) address'],
    ['http://[2001:0:4136:e378::1]/', '"[2001:0:4136:e378::1]", a Teredo (2001::/32) address'],
    ['http://[::ffff:0:7f00:1]/', '"[::ffff:0:7f00:1]", a special-purpose address (rfc6145)'],
  ])('refuses %j, naming what it points at', (baseUrl, target) => {
    expect(settingsErrorOf({ api_key: KEY, base_url: baseUrl }).errors).toEqual([
      `base_url: "${baseUrl}" points at ${target}; use your data plane's public URL, or ${PRIVATE_HINT}`,
    ]);
  });

  it.each([
    ['http://localhost:8080/', 'http://localhost:8080'],
    ['http://rudder.localhost/rudder/', 'http://rudder.localhost/rudder'],
    ['http://2130706433/', 'http://127.0.0.1'],
    ['http://0x7f.1/', 'http://127.0.0.1'],
    ['http://017700000001/', 'http://127.0.0.1'],
    ['http://0/', 'http://0.0.0.0'],
    ['http://10.0.0.5:8080/v1/batch', 'http://10.0.0.5:8080'],
    ['http://[::1]/', 'http://[::1]'],
    ['http://[::ffff:10.0.0.1]/', 'http://[::ffff:a00:1]'],
    ['http://[fd12:3456::1]:8080', 'http://[fd12:3456::1]:8080'],
  ])('admits %j with allowPrivateNetworks', (baseUrl, expected) => {
    expect(dataPlaneUrlOf(baseUrl, true)).toBe(expected);
  });

  it('still applies the other rules with allowPrivateNetworks', () => {
    expect(settingsErrorOf({ api_key: KEY, base_url: 'http://u:p@10.0.0.5/?q=1' }, true).errors).toEqual([
      'base_url: "http://10.0.0.5/?q=1" has a user name or password before the host ("...@"); ' + 'remove it: the write key belongs in api_key, not in the URL',
      'base_url: "http://10.0.0.5/?q=1" has a query string ("?..."); remove it: events are sent to ' +
        'base_url + "/v1/batch", so the URL must end with the host name or a path',
    ]);
  });
});

describe('validateSettings: reports every problem at once', () => {
  it('lists schema and URL problems together', () => {
    const error = settingsErrorOf({ api_key: '  ', base_url: 'http://user:pw@10.1.2.3/v1/batch?x=1' });
    expect(error.errors).toEqual([
      'api_key: is blank; paste the write key of your RudderStack HTTP source',
      'base_url: "http://10.1.2.3/v1/batch?x=1" has a user name or password before the host ("...@"); ' +
        'remove it: the write key belongs in api_key, not in the URL',
      'base_url: "http://10.1.2.3/v1/batch?x=1" has a query string ("?..."); remove it: events are sent to ' +
        'base_url + "/v1/batch", so the URL must end with the host name or a path',
      `base_url: "http://10.1.2.3/v1/batch?x=1" points at "10.1.2.3", a private network (RFC 1918) address; ` +
        `use your data plane's public URL, or ${PRIVATE_HINT}`,
    ]);
  });

  it('checks the host of a URL with another scheme too', () => {
    expect(settingsErrorOf({ api_key: KEY, base_url: 'ftp://127.0.0.1/' }).errors).toEqual([
      'base_url: "ftp://127.0.0.1/" is not an http or https URL; use the data plane URL from your RudderStack dashboard, ' +
        'e.g. https://yourcompany.dataplane.rudderstack.com',
      `base_url: "ftp://127.0.0.1/" points at "127.0.0.1", a loopback address; use your data plane's public URL, or ${PRIVATE_HINT}`,
    ]);
  });

  it('gives each problem its field and rule through checkSettings', () => {
    const checked = checkSettings({ api_key: 'k'.repeat(101), base_url: 'gopher://user@10.0.0.1/?q' });
    expect('problems' in checked && checked.problems.map(({ field, rule }) => `${field}:${rule}`)).toEqual([
      'api_key:maxLength',
      'base_url:scheme',
      'base_url:credentials',
      'base_url:query',
      'base_url:internal',
    ]);
    expect(checkSettings({}, {})).toMatchObject({ problems: [{ field: 'api_key', rule: 'required' }] });
    expect(checkSettings([], {})).toMatchObject({ problems: [{ field: 'settings', rule: 'type' }] });
    expect(checkSettings({ api_key: KEY, base_url: 'https://x y' })).toMatchObject({ problems: [{ field: 'base_url', rule: 'unparsable' }] });
    expect(checkSettings({ api_key: KEY })).toEqual({ settings: { writeKey: KEY, dataPlaneUrl: HOSTED } });
  });

  it('summarises every error in the message', () => {
    const error = settingsErrorOf({ api_key: 'k'.repeat(101), base_url: 42 });
    expect(error.name).toBe('SettingsError');
    expect(error.errors).toHaveLength(2);
    expect(error.message).toBe(`Invalid RudderStack settings: (1) ${error.errors[0]} (2) ${error.errors[1]}`);
  });
});

describe('validateSettings: the write key never appears in a message', () => {
  const key = 'SeCrEtWrItEkEy42';

  function textOf(error: SettingsError): string {
    return [error.message, ...error.errors].join('\n');
  }

  it.each([
    ['as the user name', `https://${key}@acme.example/`],
    ['as user name and password', `https://${key}:${key}@acme.example/`],
    ['as the password', `https://x:${key}@10.0.0.1/`],
    ['as a query parameter', `https://acme.example/?writeKey=${key}`],
    ['as a fragment', `https://acme.example/#${key}`],
    ['in the path of a private URL', `http://10.0.0.1/${key}`],
    ['as a host name label', `http://${key}.localhost/`],
    ['as a host name under another scheme', `ftp://${key}.example/`],
    ['as the whole base_url', key],
    ['in an unparsable URL', `https://${key}@`],
    ['in an unparsable URL without credentials', `https://${key} x`],
    ['percent-encoded in the path', `https://acme.example/${encodeURIComponent(key)}?x`],
  ])('when pasted into base_url %s', (_, baseUrl) => {
    const error = settingsErrorOf({ api_key: key, base_url: baseUrl });
    expect(error.errors.length).toBeGreaterThan(0);
    expect(textOf(error).toLowerCase()).not.toContain(key.toLowerCase());
  });

  it('when a key with characters URLs encode is pasted into a path', () => {
    const spaced = 'wr1te kéy+';
    const error = settingsErrorOf({ api_key: spaced, base_url: `https://u:p@acme.example/${spaced}` });
    expect(error.errors).toHaveLength(1);
    const text = textOf(error);
    expect(text).not.toContain(spaced);
    expect(text).not.toContain(encodeURI(spaced));
    expect(text).toContain('(not shown: it contains the write key)');
  });

  it('says the URL is withheld rather than echoing it', () => {
    expect(settingsErrorOf({ api_key: key, base_url: `https://acme.example/?k=${key}` }).errors).toEqual([
      'base_url: (not shown: it contains the write key) has a query string ("?..."); remove it: ' +
        'events are sent to base_url + "/v1/batch", so the URL must end with the host name or a path',
    ]);
  });

  it('when the key itself is too long', () => {
    const long = 'Z'.repeat(120);
    expect(textOf(settingsErrorOf({ api_key: long }))).not.toContain('ZZZZ');
  });

  it('hides an unparsable URL that may hold other credentials', () => {
    const [message] = settingsErrorOf({ api_key: key, base_url: 'https://admin:pw@' }).errors;
    expect(message).toBe(
      'base_url: the URL (not shown: it may contain credentials) is not a valid URL; use the data plane URL ' +
        'from your RudderStack dashboard, e.g. https://yourcompany.dataplane.rudderstack.com',
    );
  });
});
