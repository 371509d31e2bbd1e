import { randomUUID } from 'node:crypto';
import type { IdentifyMessage, Traits } from '../types';

/**
 * The data plane derives each event's timestamp from its own `sentAt`, so `sentAt` goes on every
 * event at send time. Events are serialized once, without it, and it is spliced in per attempt.
 */
const SENT_AT_LENGTH = ',"sentAt":""'.length + new Date(0).toISOString().length;
const ENVELOPE_HEAD = '{"batch":[';
const COMMA = 0x2c;

/** Bytes one serialized event adds to a batch body: its own, its `sentAt` and a separating comma. */
export function batchBytesOf(eventBytes: number): number {
  return eventBytes + SENT_AT_LENGTH + 1;
}

/** Bytes of a batch body with no events (counting a comma per event overstates a body by one byte). */
export const EMPTY_BATCH_BYTES = ENVELOPE_HEAD.length + '],"sentAt":""}'.length + new Date(0).toISOString().length;

/**
 * The request body: each event's bytes copied in as encoded, its closing brace replaced by its
 * `sentAt`. Nothing is serialized or encoded again per attempt.
 */
export function batchBody(events: readonly SerializedEvent[], sentAt: string): Buffer {
  const eventTail = Buffer.from(',"sentAt":"' + sentAt + '"}', 'latin1');
  const envelopeTail = '],"sentAt":"' + sentAt + '"}';
  let size = ENVELOPE_HEAD.length + envelopeTail.length + Math.max(0, events.length - 1);
  for (const event of events) size += event.json.length - 1 + eventTail.length;
  const body = Buffer.allocUnsafe(size);
  let offset = body.write(ENVELOPE_HEAD, 0, 'latin1');
  for (let i = 0; i < events.length; i++) {
    const { json } = events[i]!;
    if (i > 0) body[offset++] = COMMA;
    offset += json.copy(body, offset, 0, json.length - 1);
    offset += eventTail.copy(body, offset);
  }
  body.write(envelopeTail, offset, 'latin1');
  return body;
}

export interface SerializedEvent {
  /**
   * The event's JSON, UTF-8 encoded once at intake. Held as bytes, outside the JS heap: the
   * garbage collector does not copy it while it waits, and every attempt only copies it.
   */
  json: Buffer;
}

export interface SerializedIdentify {
  /** One event, or several when the traits had to be split to fit `maxEventBytes`. */
  events: SerializedEvent[];
  /** Features whose trait alone would not fit in an event: left out. */
  oversizedTraits: string[];
}

const CONTEXT_TRAITS = ',"context":{"traits":';

/**
 * Exactly what `JSON.stringify(message)` writes, with the traits serialized and encoded once: they
 * appear twice (`traits` and `context.traits`, the same object), and are most of an event's
 * bytes, so their second copy is a byte copy.
 */
function serialize(message: IdentifyMessage): SerializedEvent {
  const traits = JSON.stringify(message.traits);
  const head = '{"type":' + JSON.stringify(message.type) + ',"userId":' + JSON.stringify(message.userId) + ',"traits":';
  const tail =
    ',"library":' + JSON.stringify(message.context.library) + '}' +
    ',"channel":' + JSON.stringify(message.channel) +
    ',"messageId":' + JSON.stringify(message.messageId) +
    ',"originalTimestamp":' + JSON.stringify(message.originalTimestamp) +
    '}';
  const traitsBytes = Buffer.byteLength(traits);
  const json = Buffer.allocUnsafe(Buffer.byteLength(head) + 2 * traitsBytes + CONTEXT_TRAITS.length + Buffer.byteLength(tail));
  let offset = json.write(head, 0, 'utf8');
  const traitsAt = offset;
  offset += json.write(traits, offset, 'utf8');
  offset += json.write(CONTEXT_TRAITS, offset, 'latin1');
  offset += json.copy(json, offset, traitsAt, traitsAt + traitsBytes);
  json.write(tail, offset, 'utf8');
  return { json };
}

function withTraits(message: IdentifyMessage, traits: Traits, messageId: string): IdentifyMessage {
  return { ...message, traits, context: { ...message.context, traits }, messageId };
}

/**
 * Serializes an identify so that no event exceeds `maxEventBytes`. An event over the limit is split
 * into several identifies for the same user, each with part of the traits (traits merge
 * downstream); a trait too large to fit any event on its own is left out and named.
 */
export function serializeIdentify(message: IdentifyMessage, maxEventBytes: number): SerializedIdentify {
  const whole = serialize(message);
  if (whole.json.length + SENT_AT_LENGTH <= maxEventBytes) return { events: [whole], oversizedTraits: [] };

  const budget = maxEventBytes - SENT_AT_LENGTH;
  const emptyBytes = serialize(withTraits(message, Object.create(null) as Traits, randomUUID())).json.length;
  // Too large without any trait (a huge identifier): the event itself cannot be sent, no trait is to blame.
  if (emptyBytes > budget) return { events: [], oversizedTraits: [] };
  const events: SerializedEvent[] = [];
  const oversizedTraits: string[] = [];
  let part: Traits = Object.create(null) as Traits;
  let partBytes = emptyBytes;
  let partSize = 0;
  const closePart = (): void => {
    // Each part is its own event, so it needs its own messageId; the first keeps the original.
    const id = events.length === 0 ? message.messageId : randomUUID();
    events.push(serialize(withTraits(message, part, id)));
    part = Object.create(null) as Traits;
    partBytes = emptyBytes;
    partSize = 0;
  };
  for (const name of Object.keys(message.traits)) {
    // A trait is written twice (traits and context.traits), each time as "name":value plus a comma.
    const entryBytes = 2 * (Buffer.byteLength(JSON.stringify(name) + ':' + JSON.stringify(message.traits[name])) + 1);
    if (emptyBytes + entryBytes > budget) {
      oversizedTraits.push(name);
      continue;
    }
    if (partBytes + entryBytes > budget) closePart();
    part[name] = message.traits[name];
    partBytes += entryBytes;
    partSize++;
  }
  if (partSize > 0) closePart();
  return { events, oversizedTraits };
}
