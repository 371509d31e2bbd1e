/** Why an input cannot become an identify event; the names match the integration's drop reasons. */
export type InvalidInputReason = 'invalid_input' | 'no_user_id';

/** The hook's input cannot be mapped: the event is dropped and counted under `reason`. */
export class InvalidInputError extends Error {
  readonly reason: InvalidInputReason;

  constructor(reason: InvalidInputReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidInputError';
    this.reason = reason;
  }
}
