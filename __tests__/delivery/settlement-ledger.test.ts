import { SettlementLedger } from '../../src/delivery/settlement-ledger';

async function isResolved(promise: Promise<void>): Promise<boolean> {
  let resolved = false;
  void promise.then(() => (resolved = true));
  await new Promise((resolve) => setImmediate(resolve));
  return resolved;
}

describe('SettlementLedger', () => {
  it('resolves at once when nothing is held', async () => {
    expect(await isResolved(new SettlementLedger().whenAllSettled())).toBe(true);
  });

  it('waits for the events accepted before the call only', async () => {
    const ledger = new SettlementLedger();
    const first = ledger.accept();
    const second = ledger.accept();
    const flushed = ledger.whenAllSettled();
    const later = ledger.accept();
    ledger.settle(later);
    ledger.settle(second);
    expect(await isResolved(flushed)).toBe(false);
    ledger.settle(first);
    expect(await isResolved(flushed)).toBe(true);
    expect(ledger.held).toBe(0);
  });

  it('counts the parts of a split event, even when split after the flush began', async () => {
    const ledger = new SettlementLedger();
    const seq = ledger.accept();
    const flushed = ledger.whenAllSettled();
    ledger.acceptMore(seq, 2);
    ledger.settle(seq);
    ledger.settle(seq);
    expect(await isResolved(flushed)).toBe(false);
    ledger.settle(seq);
    expect(await isResolved(flushed)).toBe(true);
  });

  it('knows which events a flush is waiting for', () => {
    const ledger = new SettlementLedger();
    const before = ledger.accept();
    expect(ledger.isAwaited(before)).toBe(false);
    void ledger.whenAllSettled();
    const after = ledger.accept();
    expect(ledger.isAwaited(before)).toBe(true);
    expect(ledger.isAwaited(after)).toBe(false);
  });
});
