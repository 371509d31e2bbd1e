/** One destination's own state: its queue, request slots, pause and cool-down, with a fake clock. */
import { Destination, type DestinationLimits } from '../../src/delivery/destination';
import type { QueuedEvent } from '../../src/delivery/event-record';
import { endpointFor } from '../../src/delivery/http-sender';

const LIMITS: DestinationLimits = {
  flushAt: 3,
  flushIntervalMs: 1_000,
  maxBatchBytes: 500_000,
  maxConcurrentRequests: 2,
  pauseMs: 60_000,
  maxPauseMs: 900_000,
};

function destination(limits: Partial<DestinationLimits> = {}): Destination {
  return new Destination('key', endpointFor('http://127.0.0.1:9', 'wk'), 'http://127.0.0.1:9', '127.0.0.1:9', { ...LIMITS, ...limits });
}

const event = (seq: number): QueuedEvent => ({ seq, environmentKey: 'env', json: Buffer.from('{"a":1}'), acceptedAt: 0 });

describe('pause', () => {
  it('lasts pauseMs, then twice as long on each repeat, up to maxPauseMs', () => {
    const d = destination();
    let now = 0;
    const coolDowns: number[] = [];
    for (let i = 0; i < 6; i++) {
      const coolDown = d.pause(now)!;
      coolDowns.push(coolDown);
      expect(d.isPaused(now + coolDown - 1)).toBe(true);
      expect(d.isPaused(now + coolDown)).toBe(false);
      now += coolDown;
    }
    expect(coolDowns).toEqual([60_000, 120_000, 240_000, 480_000, 900_000, 900_000]);
  });

  it('is one pause for requests refused together', () => {
    const d = destination();
    expect(d.pause(0)).toBe(60_000);
    expect(d.pause(10)).toBeUndefined();
    expect(d.pause(60_000)).toBe(120_000);
  });

  it('starts again from pauseMs after a delivery', () => {
    const d = destination();
    d.pause(0);
    d.delivered();
    expect(d.pause(60_000)).toBe(60_000);
  });

  it('is lifted by resume (what invalidate() calls), which forgets earlier pauses', () => {
    const d = destination();
    d.pause(0);
    d.pause(60_000);
    d.resume();
    expect(d.isPaused(60_001)).toBe(false);
    expect(d.pause(60_001)).toBe(60_000);
  });

  it('is remembered: a paused destination is not forgettable while idle', () => {
    const d = destination();
    expect(d.isForgettable()).toBe(true);
    d.pause(0);
    expect(d.isForgettable()).toBe(false);
  });
});

describe('batches and request slots', () => {
  it('cuts batches of flushAt while a slot is free, then notes the backlog and lets the next request take all', () => {
    const d = destination();
    for (let seq = 1; seq <= 10; seq++) d.push(event(seq), false);
    expect(d.startRequest()!.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(d.startRequest()!.map((e) => e.seq)).toEqual([4, 5, 6]);
    expect(d.slotsBusy()).toBe(true);
    expect(d.startRequest()).toBeUndefined();
    d.endRequest();
    expect(d.startRequest()!.map((e) => e.seq)).toEqual([7, 8, 9, 10]);
  });

  it('holds a partial batch until it is due', () => {
    const d = destination();
    d.push(event(1), false);
    expect(d.startRequest()).toBeUndefined();
    d.markAllDue();
    expect(d.startRequest()!.map((e) => e.seq)).toEqual([1]);
  });

  it('an event a flush waits for is due at once', () => {
    const d = destination();
    d.push(event(1), true);
    expect(d.startRequest()!.map((e) => e.seq)).toEqual([1]);
  });

  it('names the environments it serves', () => {
    const d = destination();
    d.serve('env-a');
    expect(d.serves('env-a')).toBe(true);
    expect(d.serves('env-b')).toBe(false);
  });
});
