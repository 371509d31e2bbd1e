/**
 * The answers, byte for byte as Flagsmith (Django REST Framework 3.15) gives them: its bodies,
 * rendered as its JSONRenderer renders (compact, U+2028 and U+2029 escaped), with its headers.
 * The two bodies DRF has no words for (413, 408) follow its `{"detail": ...}` shape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A DRF error or item body. */
export type ResponseBody = Record<string, unknown> | unknown[];

export const NOT_AUTHENTICATED = { detail: 'Authentication credentials were not provided.' };
export const INVALID_TOKEN = { detail: 'Invalid token.' };
export const PERMISSION_DENIED = { detail: 'You do not have permission to perform this action.' };
/** An id that is not an integer (Django's lookup raises, DRF answers its generic 404). */
export const NOT_FOUND = { detail: 'Not found.' };
/** An integer id that matches no live row of the environment. */
export const NO_MATCH = { detail: 'No RudderstackConfiguration matches the given query.' };
/** A bare list: the dashboard shows `body[0]`. */
export const ALREADY_EXISTS = ['This integration already exists for this environment.'];
export const SERVER_ERROR = { detail: 'A server error occurred.' };
/** The body was JSON `null` (DRF's serializer edge case). */
export const NO_DATA = { non_field_errors: ['No data provided'] };

export function methodNotAllowed(method: string): ResponseBody {
  return { detail: `Method "${method}" not allowed.` };
}

export function parseError(reason: string): ResponseBody {
  return { detail: `JSON parse error - ${reason}` };
}

export function unsupportedMediaType(contentType: string): ResponseBody {
  return { detail: `Unsupported media type "${contentType}" in request.` };
}

export function notADictionary(pythonType: string): ResponseBody {
  return { non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonType}.`] };
}

export function bodyTooLarge(maxBytes: number): ResponseBody {
  return { detail: `Request body too large: at most ${maxBytes} bytes.` };
}

export function bodyTimeout(timeoutMs: number): ResponseBody {
  return { detail: `Request body not received within ${timeoutMs} ms.` };
}

/** DRF's JSONRenderer: compact, and U+2028/U+2029 escaped so the JSON is also a valid JavaScript literal. */
export function renderJson(body: ResponseBody): string {
  return JSON.stringify(body)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * Writes the answer, unless one was written already. Without a body (204) there is no
 * Content-Type, as in DRF. When the request's body was not read to its end, the connection is
 * closed after the answer, so unread bytes (a body too large, too slow, or never needed) are
 * not read on the server's time.
 */
export function send(req: IncomingMessage, res: ServerResponse, status: number, body: ResponseBody | undefined, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.writableEnded) return;
  const text = body === undefined ? '' : renderJson(body);
  const all: Record<string, string | number> = { Vary: 'Accept', ...headers, 'Content-Length': Buffer.byteLength(text) };
  if (body !== undefined) all['Content-Type'] = 'application/json';
  if (!req.complete) all.Connection = 'close';
  res.writeHead(status, all);
  res.end(text);
}
