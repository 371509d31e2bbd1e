/**
 * A request body turned into data as DRF's JSONParser does it: an empty body is an empty object;
 * any other needs a JSON Content-Type (415 otherwise), is decoded as UTF-8 and parsed, each
 * failure a 400 in Python's words.
 */
import { parseJsonAsPython, pythonTypeName } from './python-json';
import { decodeUtf8AsPython } from './python-utf8';
import { parseError, unsupportedMediaType, type ResponseBody } from './responses';

/** The data and the Python name of its type; or the answer that refuses the body. */
export type RequestData = { data: unknown; pythonType: string } | { status: 400 | 415; body: ResponseBody };

export function requestData(bytes: Buffer, contentType: string | undefined): RequestData {
  // DRF reads no stream for a zero-length body, whatever its Content-Type.
  if (bytes.length === 0) return { data: {}, pythonType: 'dict' };
  if (!isJsonMediaType(contentType ?? '')) return { status: 415, body: unsupportedMediaType(contentType ?? '') };
  const decoded = decodeUtf8AsPython(bytes);
  if ('error' in decoded) return { status: 400, body: parseError(decoded.error) };
  const parsed = parseJsonAsPython(decoded.text);
  if ('error' in parsed) return { status: 400, body: parseError(parsed.error) };
  return { data: parsed.value, pythonType: typeNameOf(parsed.value, decoded.text) };
}

/** Data a framework's body parser already made: its type as Python would name the same JSON. */
export function parsedData(value: unknown): RequestData {
  return { data: value, pythonType: typeNameOf(value, JSON.stringify(value) ?? '') };
}

function typeNameOf(value: unknown, text: string): string {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? 'dict' : pythonTypeName(value, text);
}

/** DRF's match of its parser's `application/json` against the request's type: parameters ignored, `*` matches. */
function isJsonMediaType(contentType: string): boolean {
  const [type, subtype] = (contentType.split(';')[0] ?? '').trim().toLowerCase().split('/');
  return (type === 'application' || type === '*') && (subtype === 'json' || subtype === '*');
}
