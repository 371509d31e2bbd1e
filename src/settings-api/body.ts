/**
 * Reads a request body with a byte bound and a deadline, so that no body, however large or
 * slow, can hold memory or a request open: beyond `maxBytes` the answer is 413 (a declared
 * Content-Length beyond it is refused before a byte is read), past `timeoutMs` it is 408.
 */
import type { IncomingMessage } from 'node:http';

/** The bounds of one body. */
export interface BodyLimits {
  /** Largest body read, in bytes. */
  maxBytes: number;
  /** Longest the whole body may take to arrive, from the first read. */
  timeoutMs: number;
}

/**
 * The bytes; or a value a framework's body parser already made of them (the stream is then
 * consumed); or why there is no body: too large, too slow, or the client went away.
 */
export type BodyRead = { bytes: Buffer } | { parsed: unknown } | { refused: 'too_large' | 'timeout' } | { aborted: true };

/** A request a framework may have read already (Express's body parsers leave `body`). */
type RequestWithBody = IncomingMessage & { body?: unknown };

export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<BodyRead> {
  if (req.readableEnded) return Promise.resolve(alreadyRead((req as RequestWithBody).body));
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes) return Promise.resolve({ refused: 'too_large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyRead): void => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onAborted).off('close', onAborted);
      // Unread bytes stay unread: the answer closes the connection (see responses.ts).
      if (!('bytes' in result)) req.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limits.maxBytes) finish({ refused: 'too_large' });
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish({ bytes: Buffer.concat(chunks) });
    const onAborted = (): void => finish({ aborted: true });
    const timer = setTimeout(() => finish({ refused: 'timeout' }), limits.timeoutMs);
    req.on('data', onData).on('end', onEnd).on('error', onAborted).on('close', onAborted);
  });
}

/** What a body parser before this handler left: raw bytes or text are read as such, anything else as parsed JSON. */
function alreadyRead(body: unknown): BodyRead {
  if (body === undefined) return { bytes: Buffer.alloc(0) };
  if (Buffer.isBuffer(body)) return { bytes: body };
  if (typeof body === 'string') return { bytes: Buffer.from(body, 'utf8') };
  return { parsed: body };
}
