/**
 * The request's fields checked as Flagsmith's serializer checks them, in its words, with the
 * package's own rules (validateSettings: every spelling of an internal address, no credentials,
 * no query) as the URL check.
 *
 * For each field, DRF first takes the value (required, not null, not blank, text), then runs
 * every validator and lists every error. base_url's validators, in Flagsmith's order: http(s)
 * scheme, not internal, at most 200 characters, no NUL, no lone surrogate, a valid URL. The
 * package's rules that Flagsmith has no words for (a user name in the URL, a query) follow, in
 * the package's words. Errors come field by field in the serializer's order: base_url, api_key.
 */
import type { RudderStackSettings } from '../types';
import { checkSettings, type SettingsProblem } from '../settings/validate';
import { codePointLength } from '../settings/code-points';
import type { SettingsRecord } from '../settings/settings-store';

/** DRF's errors: a list of messages by field. */
export type FieldErrors = Record<string, string[]>;

/** How the request's fields are read. */
export interface FieldRules {
  /** PATCH: absent fields keep the current values. */
  partial: boolean;
  /** The live settings being changed (PUT, PATCH): where absent fields come from. */
  current?: SettingsRecord;
  /** Admit internal addresses (the handler's option). */
  allowPrivateNetworks: boolean;
}

const REQUIRED = 'This field is required.';
const NOT_NULL = 'This field may not be null.';
const NOT_BLANK = 'This field may not be blank.';
const NOT_TEXT = 'Not a valid string.';
const NO_NUL = 'Null characters are not allowed.';
const HTTP_ONLY = 'Enter a valid http(s) URL.';
const INTERNAL = 'URLs must not target internal or private network addresses.';
const INVALID_URL = 'Enter a valid URL.';
const MAX_LENGTH = { api_key: 100, base_url: 200 } as const;

/** Python's `str.strip()` set: Unicode whitespace, which differs from JavaScript's `trim()` (no U+FEFF, but U+001C..U+001F and U+0085). */
const PYTHON_WHITESPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PYTHON_STRIP = new RegExp(`^[${PYTHON_WHITESPACE}]+|[${PYTHON_WHITESPACE}]+$`, 'g');
/** Schemes Django's URLValidator knows; Flagsmith's own validator then allows only the first two. */
const DJANGO_SCHEMES = ['http', 'https', 'ftp', 'ftps'];

/** The settings to store, or every error by field. `data` is a plain object (the caller checked). */
export function checkFields(data: Record<string, unknown>, rules: FieldRules): { settings: RudderStackSettings } | { errors: FieldErrors } {
  const baseUrl = takeField(data, 'base_url', rules);
  const apiKey = takeField(data, 'api_key', rules);
  const problems = packageProblems(apiKey, baseUrl, rules.allowPrivateNetworks);
  const errors: FieldErrors = {};
  const baseUrlErrors = 'error' in baseUrl ? [baseUrl.error] : typeof baseUrl.value === 'string' ? baseUrlValidators(baseUrl.value, problems) : [];
  const apiKeyErrors = 'error' in apiKey ? [apiKey.error] : typeof apiKey.value === 'string' ? apiKeyValidators(apiKey.value, problems) : [];
  if (baseUrlErrors.length > 0) errors.base_url = baseUrlErrors;
  if (apiKeyErrors.length > 0) errors.api_key = apiKeyErrors;
  if (Object.keys(errors).length > 0) return { errors };
  const settings: RudderStackSettings = { api_key: (apiKey as { value: string }).value };
  if ('value' in baseUrl && baseUrl.value !== undefined) settings.base_url = baseUrl.value;
  return { settings };
}

/** A field's value once DRF has taken it (undefined: absent, and allowed to be), or the one error that stops it. */
type Taken = { value: string | null | undefined } | { error: string };

function takeField(data: Record<string, unknown>, field: 'api_key' | 'base_url', rules: FieldRules): Taken {
  if (!Object.hasOwn(data, field)) {
    // PUT keeps an absent optional field as stored; PATCH keeps any absent field.
    if (rules.current && (rules.partial || field === 'base_url')) return { value: rules.current[field] };
    return field === 'api_key' && !rules.partial ? { error: REQUIRED } : { value: undefined };
  }
  const value = data[field];
  if (value === null) return field === 'base_url' ? { value: null } : { error: NOT_NULL };
  if (typeof value === 'string' && pythonStrip(value) === '') return { error: NOT_BLANK };
  // DRF would also take a number as its decimal text; a write key or URL is text, so this does not.
  if (typeof value !== 'string') return { error: NOT_TEXT };
  return { value: pythonStrip(value) };
}

function pythonStrip(text: string): string {
  return text.replace(PYTHON_STRIP, '');
}

/** validateSettings' problems with the taken values (a field DRF stopped is given as absent). */
function packageProblems(apiKey: Taken, baseUrl: Taken, allowPrivateNetworks: boolean): SettingsProblem[] {
  const candidate = {
    api_key: 'value' in apiKey ? apiKey.value : undefined,
    base_url: 'value' in baseUrl ? baseUrl.value : undefined,
  };
  const checked = checkSettings(candidate, { allowPrivateNetworks });
  return 'problems' in checked ? checked.problems : [];
}

function apiKeyValidators(value: string, problems: SettingsProblem[]): string[] {
  const mine = problems.filter((problem) => problem.field === 'api_key');
  const errors = [
    codePointLength(value) > MAX_LENGTH.api_key ? maxLength(MAX_LENGTH.api_key) : undefined,
    ...characterErrors(value),
    // The package's blank is JavaScript's (it counts U+FEFF as space); Python's strip did not.
    mine.some((problem) => problem.rule === 'minLength' || problem.rule === 'pattern') ? NOT_BLANK : undefined,
  ];
  return present(errors);
}

function baseUrlValidators(value: string, problems: SettingsProblem[]): string[] {
  const mine = problems.filter((problem) => problem.field === 'base_url');
  const broke = (rule: string): boolean => mine.some((problem) => problem.rule === rule);
  const scheme = pythonScheme(value);
  const errors = [
    scheme === 'http' || scheme === 'https' ? undefined : HTTP_ONLY,
    broke('internal') ? INTERNAL : undefined,
    codePointLength(value) > MAX_LENGTH.base_url ? maxLength(MAX_LENGTH.base_url) : undefined,
    ...characterErrors(value),
    broke('unparsable') || !looksLikeDjangoUrl(value, scheme) ? INVALID_URL : undefined,
    ...mine.filter((problem) => problem.rule === 'credentials' || problem.rule === 'query').map((problem) => problem.message.replace(/^base_url: /, '')),
  ];
  return present(errors);
}

function maxLength(limit: number): string {
  return `Ensure this field has no more than ${limit} characters.`;
}

/** DRF's ProhibitNullCharactersValidator and ProhibitSurrogateCharactersValidator (the first lone surrogate). */
function characterErrors(value: string): Array<string | undefined> {
  const surrogate = [...value].find((character) => character.length === 1 && character.charCodeAt(0) >= 0xd800 && character.charCodeAt(0) <= 0xdfff);
  return [
    value.includes('\u0000') ? NO_NUL : undefined,
    surrogate === undefined ? undefined : `Surrogate characters are not allowed: U+${surrogate.charCodeAt(0).toString(16).toUpperCase()}.`,
  ];
}

/** The scheme as Python's `urlparse` finds it: the text before the first ":", when it is a scheme, lower-cased. */
function pythonScheme(value: string): string {
  return /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1].toLowerCase() ?? '';
}

/** What Django's URLValidator asks beyond a parsable URL: a scheme it knows, "://", and no whitespace anywhere. */
function looksLikeDjangoUrl(value: string, scheme: string): boolean {
  return DJANGO_SCHEMES.includes(scheme) && value.slice(scheme.length).startsWith('://') && !/\s/.test(value);
}

function present(errors: Array<string | undefined>): string[] {
  return errors.filter((error): error is string => error !== undefined);
}
