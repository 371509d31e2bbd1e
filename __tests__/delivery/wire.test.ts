import { batchBody, batchBytesOf, EMPTY_BATCH_BYTES, serializeIdentify, type SerializedEvent } from '../../src/delivery/wire';
import { buildIdentifyMessage } from '../../src/mapping';
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

describe('serialization', () => {
  it('writes exactly what JSON.stringify writes, for real identify messages', () => {
    const context: IdentityFetchContext = {
      environmentKey: 'env',
      identity: { identifier: 'ü "quoted" \u2028 user' },
      flags: [
        { feature: { name: '__proto__' }, enabled: true, feature_state_value: 'x' },
        { feature: { name: 'price' }, enabled: true, feature_state_value: 1.5 },
        { feature: { name: 'emoji 🚩' }, enabled: false, feature_state_value: null },
        { feature: { name: 'zero' }, enabled: true, feature_state_value: 0 },
      ],
    };
    const message = buildIdentifyMessage(context);
    const [event] = serializeIdentify(message, 32_768).events;
    expect(event!.json.toString('utf8')).toBe(JSON.stringify(message));
  });
});

describe('serializeIdentify', () => {
  it('keeps an event that fits as one event with its messageId', () => {
    const message = identify({ checkout: 'blue', enabled_flag: true });
    const { events, oversizedTraits } = serializeIdentify(message, 32_768);
    expect(oversizedTraits).toEqual([]);
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.json.toString('utf8'))).toEqual(message);
  });

  it('splits an oversized event into identifies for the same user whose traits together are the original', () => {
    const traits: Traits = {};
    for (let i = 0; i < 40; i++) traits[`feature_${i}`] = 'v'.repeat(200);
    const message = identify(traits);
    const limit = 4_096;
    const { events, oversizedTraits } = serializeIdentify(message, limit);
    expect(oversizedTraits).toEqual([]);
    expect(events.length).toBeGreaterThan(1);
    const parsed = events.map((event) => JSON.parse(event.json.toString('utf8')) as IdentifyMessage);
    const merged = Object.assign({}, ...parsed.map((event) => event.traits));
    expect(merged).toEqual(traits);
    for (const [index, event] of parsed.entries()) {
      expect(event.userId).toBe('user-1');
      expect(event.context.traits).toEqual(event.traits);
      // Fits even after sentAt is added at send time.
      expect(batchBytesOf(events[index]!.json.length) - 1).toBeLessThanOrEqual(limit);
    }
    expect(parsed[0]!.messageId).toBe(message.messageId);
    expect(new Set(parsed.map((event) => event.messageId)).size).toBe(parsed.length);
  });

  it('leaves out and names a trait too large for any event on its own', () => {
    const message = identify({ small: true, huge: 'x'.repeat(5_000) });
    const { events, oversizedTraits } = serializeIdentify(message, 4_096);
    expect(oversizedTraits).toEqual(['huge']);
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.json.toString('utf8')).traits).toEqual({ small: true });
  });

  it('gives no event, and blames no trait, when nothing fits (an identifier larger than the limit)', () => {
    const { events, oversizedTraits } = serializeIdentify(identify({ a: true }, 'u'.repeat(5_000)), 4_096);
    expect(events).toEqual([]);
    expect(oversizedTraits).toEqual([]);
  });
});
