/** The one redaction: every form the write key travels in, and URL credentials. */
import { redact } from '../../src/settings/messages';

const KEY = 'Wk_Redact_8f3a1c';

describe('redact', () => {
  const basic = Buffer.from(`${KEY}:`).toString('base64');

  it.each([
    ['as typed', `http://dp.example/${KEY}/v1/batch`, 'http://dp.example/[redacted]/v1/batch'],
    ['lower-cased, as a host name label', `getaddrinfo ENOTFOUND ${KEY.toLowerCase()}.invalid`, 'getaddrinfo ENOTFOUND [redacted].invalid'],
    ['percent-encoded in part', `http://dp.example/Wk%5FRedact_8f3a1c`, 'http://dp.example/[redacted]'],
    ['in Basic form', `Authorization: Basic ${basic}`, 'Authorization: Basic [redacted]'],
    ['in Basic form without padding', `Basic ${basic.replace(/=+$/, '')}.`, 'Basic [redacted].'],
    ['twice', `${KEY} ${KEY}`, '[redacted] [redacted]'],
  ])('hides the key %s', (_, text, expected) => {
    expect(redact(text, KEY)).toBe(expected);
  });

  it('hides a key with characters URLs encode, in every encoding a URL gives it', () => {
    const key = 'wr1te kéy+';
    const forms = [key, encodeURI(key), encodeURIComponent(key), new URL(`http://h/${key}`).pathname.slice(1), 'wr1te+k%c3%a9y%2b'];
    for (const form of forms) expect(redact(`<${form}>`, key)).toBe('<[redacted]>');
  });

  it('hides a key typed with spaces around it, whether the text holds it trimmed or not', () => {
    expect(redact(`a ${KEY} b`, `  ${KEY} `)).toBe('a [redacted] b');
    expect(redact(`a[  ${KEY} ]b`, `  ${KEY} `)).toBe('a[[redacted]]b');
  });

  it('removes URL credentials, with or without a key', () => {
    expect(redact('request to https://user:pw@host/path failed', KEY)).toBe('request to https://host/path failed');
    expect(redact('postgres://a@b:pw@db:5432/x and mail x@y.example')).toBe('postgres://db:5432/x and mail x@y.example');
  });

  it('leaves a text without the key as it is', () => {
    const text = 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9';
    expect(redact(text, KEY)).toBe(text);
    expect(redact(text, '   ')).toBe(text);
  });
});
