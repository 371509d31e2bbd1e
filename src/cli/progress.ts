import { SingleBar } from 'cli-progress';

export interface ProgressCounts {
  done: number;
  delivered: number;
  failed: number;
}

const PLAIN_INTERVAL_MS = 5_000;

/** A progress bar on a terminal; elsewhere (a log, CI) a plain line every few seconds. */
export class Progress {
  readonly #startedAt = Date.now();
  readonly #bar: SingleBar | null;
  readonly #timer: NodeJS.Timeout | null;
  #counts: ProgressCounts = { done: 0, delivered: 0, failed: 0 };

  readonly #total: number;
  readonly #stream: NodeJS.WriteStream;

  constructor(total: number, stream: NodeJS.WriteStream) {
    this.#total = total;
    this.#stream = stream;
    if (stream.isTTY) {
      this.#bar = new SingleBar({
        stream,
        format: '{bar} {value}/{total} identities | {rate}/s | ETA {eta_formatted} | delivered {delivered} | failed {failed}',
        hideCursor: true,
        etaBuffer: 1_000,
      });
      this.#bar.start(total, 0, { rate: 0, delivered: 0, failed: 0 });
      this.#timer = null;
    } else {
      this.#bar = null;
      this.#timer = setInterval(() => this.#stream.write(`${this.#line()}\n`), PLAIN_INTERVAL_MS);
      // The backfill keeps the process alive while it works; this timer must not.
      this.#timer.unref();
    }
  }

  update(counts: ProgressCounts): void {
    this.#counts = counts;
    this.#bar?.update(counts.done, { rate: this.#rate(), delivered: counts.delivered, failed: counts.failed });
  }

  stop(): void {
    this.#bar?.stop();
    if (this.#timer) clearInterval(this.#timer);
  }

  #rate(): number {
    return Math.round(this.#counts.done / Math.max(0.001, (Date.now() - this.#startedAt) / 1000));
  }

  #line(): string {
    const { done, delivered, failed } = this.#counts;
    const rate = this.#rate();
    const percent = this.#total > 0 ? ` (${Math.floor((done / this.#total) * 100)}%)` : '';
    const eta = rate > 0 && this.#total >= done ? `, ETA ${Math.ceil((this.#total - done) / rate)} s` : '';
    return `backfill: ${done}/${this.#total} identities${percent}, ${rate}/s${eta}, delivered ${delivered}, failed ${failed}`;
  }
}
