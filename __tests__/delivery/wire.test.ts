import fc from 'fast-check';
import { batchBody, batchBytesOf, EMPTY_BATCH_BYTES, serializeIdentify, type SerializedEvent } from '../../src/delivery/wire';
import { isEmptyToGateway } from '../../src/mapping/gateway-empty';
import { captureIdentify, identifyMessage, type IdentifyCapture } from '../../src/mapping/identify';
import type { IdentifyMessage, IdentityFetchContext, Traits } from '../../src/types';

function identify(traits: Traits, userId = 'user-1'): IdentifyMessage {
  return {
    type: 'identify',
    userId,
    traits,
    context: { traits, library: { name: 'flagsmith-rudderstack', version: '0.0.0' } },
    channel: 'server',
    messageId: '6f1e3c0e-0000-4000-8000-000000000001',
    originalTimestamp: '2026-11-28T10:00:00.000Z',
  };
}

/** An event as delivery holds it: serialized and UTF-8 encoded once. */
function held(message: IdentifyMessage): SerializedEvent {
  return { json: Buffer.from(JSON.stringify(message)) };
}

describe('batchBody', () => {
  const sentAt = '2026-11-28T10:00:01.000Z';

  it('puts sentAt on every event and on the envelope, keeping each event otherwise as serialized', () => {
    const events = [identify({ a: 1 }, 'u1'), identify({ b: 'x', 'é "quoted"': 'ü\n' }, 'ü2')];
    const body = JSON.parse(batchBody(events.map(held), sentAt).toString('utf8'));
    expect(body.sentAt).toBe(sentAt);
    expect(body.batch).toEqual(events.map((event) => ({ ...event, sentAt })));
  });

  it('is exactly as long as the byte accounting says, give or take the one comma it overstates', () => {
    const events = [identify({ a: 'é' }), identify({ b: 2 })].map(held);
    const counted = EMPTY_BATCH_BYTES + events.reduce((sum, event) => sum + batchBytesOf(event.json.length), 0);
    expect(batchBody(events, sentAt).length).toBe(counted - 1);
  });

  it('writes an empty batch as valid JSON', () => {
    expect(JSON.parse(batchBody([], sentAt).toString())).toEqual({ batch: [], sentAt });
  });
});

/** An identify as the hook captures it, with flags that map to exactly these traits. */
function captured(traits: Record<string, string | number | boolean>, userId = 'user-1'): IdentifyCapture {
  return {
    userId,
    flags: Object.entries(traits).map(([name, value]) => ({ name, enabled: true, value })),
    valueMode: 'documented',
    messageId: '6f1e3c0e-0000-4000-8000-000000000001',
    originalTimestamp: '2026-11-28T10:00:00.000Z',
  };
}

function parsed(event: SerializedEvent): IdentifyMessage {
  return JSON.parse(event.json.toString('utf8')) as IdentifyMessage;
}

describe('serialization', () => {
  it('writes exactly what JSON.stringify writes of the identify message, for real identity fetches', () => {
    const context: IdentityFetchContext = {
      environmentKey: 'env',
      identity: { identifier: 'ü "quoted" \u2028 user' },
      flags: [
        { feature: { name: '__proto__' }, enabled: true, feature_state_value: 'x' },
        { feature: { name: 'price' }, enabled: true, feature_state_value: 1.5 },
        { feature: { name: 'emoji 🚩' }, enabled: false, feature_state_value: null },
        { feature: { name: 'zero' }, enabled: true, feature_state_value: 0 },
        { feature: { name: '10' }, enabled: true, feature_state_value: 'index-like names come first' },
        { feature: { name: 'price' }, enabled: true, feature_state_value: -2 },
      ],
    };
    for (const valueMode of ['documented', 'flagsmith-python'] as const) {
      const capture = captureIdentify(context, { valueMode, messageId: 'a-fixed-message-id' });
      const [event] = serializeIdentify(capture, 32_768).events;
      expect(event!.json.toString('utf8')).toBe(JSON.stringify(identifyMessage(capture)));
    }
  });

  it('writes exactly what JSON.stringify writes, for arbitrary identifiers, names and values', () => {
    const flag = fc.record({
      feature: fc.record({ name: fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('__proto__', '0', '7', '01', '4294967295')) }),
      enabled: fc.boolean(),
      feature_state_value: fc.oneof(fc.string({ unit: 'binary' }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.bigInt()),
    });
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1 }).filter((id) => !isEmptyToGateway(id)),
        fc.array(flag, { maxLength: 40 }),
        fc.constantFrom('documented' as const, 'flagsmith-python' as const),
        (identifier, flags, valueMode) => {
          const capture = captureIdentify({ environmentKey: 'env', identity: { identifier }, flags }, { valueMode, messageId: 'a-fixed-message-id' });
          const [event] = serializeIdentify(capture, 1_000_000).events;
          expect(event!.json.equals(Buffer.from(JSON.stringify(identifyMessage(capture))))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('serializeIdentify', () => {
  it('keeps an event that fits as one event with its messageId', () => {
    const capture = captured({ checkout: 'blue', enabled_flag: true });
    const { events, oversizedTraits } = serializeIdentify(capture, 32_768);
    expect(oversizedTraits).toEqual([]);
    expect(events).toHaveLength(1);
    expect(parsed(events[0]!)).toEqual(JSON.parse(JSON.stringify(identifyMessage(capture))));
  });

  it('splits an oversized event into identifies for the same user whose traits together are the original', () => {
    const traits: Record<string, string> = {};
    for (let i = 0; i < 40; i++) traits[`feature_${i}`] = 'v'.repeat(200);
    const capture = captured(traits);
    const limit = 4_096;
    const { events, oversizedTraits } = serializeIdentify(capture, limit);
    expect(oversizedTraits).toEqual([]);
    expect(events.length).toBeGreaterThan(1);
    const parts = events.map(parsed);
    const merged = Object.assign({}, ...parts.map((event) => event.traits));
    expect(merged).toEqual(traits);
    for (const [index, event] of parts.entries()) {
      expect(event.userId).toBe('user-1');
      expect(event.context.traits).toEqual(event.traits);
      // Fits even after sentAt is added at send time.
      expect(batchBytesOf(events[index]!.json.length) - 1).toBeLessThanOrEqual(limit);
    }
    expect(parts[0]!.messageId).toBe(capture.messageId);
    expect(new Set(parts.map((event) => event.messageId)).size).toBe(parts.length);
  });

  it('leaves out and names a trait too large for any event on its own', () => {
    const { events, oversizedTraits } = serializeIdentify(captured({ small: true, huge: 'x'.repeat(5_000) }), 4_096);
    expect(oversizedTraits).toEqual(['huge']);
    expect(events).toHaveLength(1);
    expect(parsed(events[0]!).traits).toEqual({ small: true });
  });

  it('sends the identify without traits, keeping its messageId, when its only traits are too large on their own', () => {
    const capture = captured({ huge: 'x'.repeat(5_000), larger: 'y'.repeat(6_000) });
    const { events, oversizedTraits } = serializeIdentify(capture, 4_096);
    expect(oversizedTraits).toEqual(['huge', 'larger']);
    expect(events).toHaveLength(1);
    const event = parsed(events[0]!);
    expect(event).toMatchObject({ userId: 'user-1', traits: {}, context: { traits: {} }, messageId: capture.messageId });
  });

  it('gives no event, and blames no trait, when nothing fits (an identifier larger than the limit)', () => {
    const { events, oversizedTraits } = serializeIdentify(captured({ a: true }, 'u'.repeat(5_000)), 4_096);
    expect(events).toEqual([]);
    expect(oversizedTraits).toEqual([]);
  });
});
