/**
 * The command's output streams, whose reader may go away early (`| head`). A pipe closed by its
 * reader means the output is no longer wanted: that is how such a command ends, quietly, not an
 * error. Any other write failure is reported on one line.
 */
const gone = new Set<NodeJS.WritableStream>();
const onStdoutGone = new Set<() => void>();

/** Installs the handlers; main calls it once, before any command runs. */
export function watchOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (gone.has(stream)) return;
      gone.add(stream);
      if (error.code !== 'EPIPE') {
        process.exitCode = 1;
        if (stream === process.stdout) process.stderr.write(`error: cannot write the output: ${error.code ?? error.message}\n`);
      }
      if (stream === process.stdout) for (const listener of onStdoutGone) listener();
    });
  }
}

/** True once stdout's reader has gone (or writing to it failed): nothing printed there is seen. */
export function stdoutGone(): boolean {
  return gone.has(process.stdout);
}

/** Calls `listener` once stdout is gone (at once if it is already); returns how to stop listening. */
export function whenStdoutGone(listener: () => void): () => void {
  if (stdoutGone()) {
    listener();
    return () => undefined;
  }
  onStdoutGone.add(listener);
  return () => onStdoutGone.delete(listener);
}

/** Prints `text` to stdout, waiting while the reader is slow. False once the reader has gone. */
export async function print(text: string): Promise<boolean> {
  if (stdoutGone()) return false;
  if (!process.stdout.write(text)) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        process.stdout.off('drain', done);
        onStdoutGone.delete(done);
        resolve();
      };
      process.stdout.once('drain', done);
      onStdoutGone.add(done);
    });
  }
  return !stdoutGone();
}
