import { driverError } from '../src/sql';

describe('driverError: a driver message with the statement values cut out', () => {
  it('cuts out text values and byte values (the outbox passes its events as bytes)', () => {
    const writeKey = 'wk-in-a-text-value';
    const events = Buffer.from('{"userId":"ü-someone"}');
    const error = Object.assign(new Error(`invalid input: "${writeKey}" near ${events.toString()}`), { code: '22P02' });
    const { detail, code } = driverError(error, [writeKey, events, 42]);
    expect(detail).toBe('invalid input: "(value not shown)" near (value not shown)');
    expect(code).toBe('22P02');
  });

  it('reads errors by shape, and says something when the driver gave no message', () => {
    expect(driverError({ code: '57P01' }, []).detail).toBe('57P01');
    expect(driverError(undefined, []).detail).toBe('the client rejected the query');
  });
});
