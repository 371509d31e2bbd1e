import { randomUUID } from 'node:crypto';
import { capturedTraits, type IdentifyCapture } from '../mapping/identify';
import type { TraitList, TraitValue } from '../mapping/traits';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version';
import { JsonWriter } from './json-writer';

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

/** One writer for every event: serializing is synchronous, so events never share it at once. */
const writer = new JsonWriter();

/** The event's fixed parts, encoded once. */
const EVENT_HEAD = Buffer.from('{"type":"identify","userId":');
const TRAITS_KEY = Buffer.from(',"traits":');
const CONTEXT_TRAITS_KEY = Buffer.from(',"context":{"traits":');
const LIBRARY_TO_MESSAGE_ID_KEY = Buffer.from(
  `,"library":${JSON.stringify({ name: LIBRARY_NAME, version: LIBRARY_VERSION })}},"channel":"server","messageId":`,
);
const TIMESTAMP_KEY = Buffer.from(',"originalTimestamp":');
const EVENT_TAIL = Buffer.from('}');

/**
 * The event's bytes: exactly what `JSON.stringify(identifyMessage(capture))` writes, for the
 * traits given and with this messageId. The traits appear twice (`traits` and `context.traits`)
 * and are most of an event's bytes, so their second copy is a byte copy.
 */
function encodeEvent(capture: IdentifyCapture, traits: TraitList, messageId: string): SerializedEvent {
  writer.reset();
  writer.encodedBytes(EVENT_HEAD);
  writer.string(capture.userId);
  writer.encodedBytes(TRAITS_KEY);
  const traitsStart = writer.length;
  writeTraits(traits);
  const traitsEnd = writer.length;
  writer.encodedBytes(CONTEXT_TRAITS_KEY);
  writer.repeat(traitsStart, traitsEnd);
  writer.encodedBytes(LIBRARY_TO_MESSAGE_ID_KEY);
  writer.string(messageId);
  writer.encodedBytes(TIMESTAMP_KEY);
  writer.string(capture.originalTimestamp);
  writer.encodedBytes(EVENT_TAIL);
  return { json: writer.take() };
}

function writeTraits({ names, values }: TraitList): void {
  writer.raw('{');
  for (let i = 0; i < names.length; i++) {
    if (i > 0) writer.raw(',');
    writeTrait(names[i], values[i]);
  }
  writer.raw('}');
}

function writeTrait(name: string, value: TraitValue): void {
  writer.encodedBytes(traitKey(name));
  writer.value(value);
}

/**
 * Feature names recur in every identify of an environment, so each one's `"name":` is encoded
 * once. Bounded: names past the first 10 000 (many environments, or odd input) are encoded each time.
 */
const traitKeys = new Map<string, Buffer>();
const TRAIT_KEYS_AT_MOST = 10_000;

function traitKey(name: string): Buffer {
  let key = traitKeys.get(name);
  if (key === undefined) {
    key = Buffer.from(JSON.stringify(name) + ':');
    if (traitKeys.size < TRAIT_KEYS_AT_MOST) traitKeys.set(name, key);
  }
  return key;
}

/** Bytes a trait adds to an event: written twice (traits and context.traits), each with a comma. */
function traitBytes(name: string, value: TraitValue): number {
  writer.reset();
  writeTrait(name, value);
  return 2 * (writer.length + 1);
}

/** Fewer bytes than a trait can take: its name and text value once each in `traits` and `context.traits`. */
function leastTraitBytes(name: string, value: TraitValue): number {
  return 2 * (name.length + (typeof value === 'string' ? value.length : 0));
}

/** Fewer bytes than the whole event can take. */
function leastEventBytes(userId: string, traits: TraitList): number {
  let bytes = userId.length;
  for (let i = 0; i < traits.names.length; i++) bytes += leastTraitBytes(traits.names[i], traits.values[i]);
  return bytes;
}

const NO_TRAITS: TraitList = { names: [], values: [] };

/**
 * Serializes an identify so that no event exceeds `maxEventBytes`. An event over the limit is split
 * into several identifies for the same user, each with part of the traits (traits merge
 * downstream); a trait too large to fit any event on its own is left out and named. No event comes
 * back only when the identify does not fit even without traits.
 */
export function serializeIdentify(capture: IdentifyCapture, maxEventBytes: number): SerializedIdentify {
  const traits = capturedTraits(capture);
  // Made here rather than in the hook: now and then randomUUID refills its entropy, a slow call.
  const messageId = capture.messageId ?? randomUUID();
  const budget = maxEventBytes - SENT_AT_LENGTH;
  // Encoding a value never takes fewer bytes than its string has characters: a text that cannot
  // fit is known too large without being encoded (a flag value can be megabytes long).
  if (capture.userId.length > budget) return { events: [], oversizedTraits: [] };
  if (leastEventBytes(capture.userId, traits) <= budget) {
    const whole = encodeEvent(capture, traits, messageId);
    if (whole.json.length <= budget) return { events: [whole], oversizedTraits: [] };
  }

  const emptyBytes = encodeEvent(capture, NO_TRAITS, randomUUID()).json.length;
  // Too large without any trait (a huge identifier): the event itself cannot be sent, no trait is to blame.
  if (emptyBytes > budget) return { events: [], oversizedTraits: [] };
  const events: SerializedEvent[] = [];
  const oversizedTraits: string[] = [];
  let part: TraitList = { names: [], values: [] };
  let partBytes = emptyBytes;
  const closePart = (): void => {
    // Each part is its own event, so it needs its own messageId; the first keeps the original.
    const id = events.length === 0 ? messageId : randomUUID();
    events.push(encodeEvent(capture, part, id));
    part = { names: [], values: [] };
    partBytes = emptyBytes;
  };
  for (let i = 0; i < traits.names.length; i++) {
    const name = traits.names[i];
    const value = traits.values[i];
    const entryBytes = emptyBytes + leastTraitBytes(name, value) > budget ? Number.POSITIVE_INFINITY : traitBytes(name, value);
    if (emptyBytes + entryBytes > budget) {
      oversizedTraits.push(name);
      continue;
    }
    if (partBytes + entryBytes > budget) closePart();
    part.names.push(name);
    part.values.push(value);
    partBytes += entryBytes;
  }
  // When every trait was left out, the identity is still sent, with none.
  if (part.names.length > 0 || events.length === 0) closePart();
  return { events, oversizedTraits };
}
