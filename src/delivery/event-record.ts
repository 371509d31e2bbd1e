/**
 * The one record of an event, from the hook to settlement: accepted with its capture, then
 * serialized into one or more queued events (an identify over maxEventBytes is several) that keep
 * its number, environment, time and claim.
 */
import type { IdentifyCapture } from '../mapping/identify';
import type { ChangeClaim, ValidatedSettings } from '../types';

/** An identify as the hook accepted it: captured, not yet mapped or serialized. */
export interface AcceptedIdentify {
  /** The settlement ledger's number for the hook call. */
  seq: number;
  environmentKey: string;
  capture: IdentifyCapture;
  /** On the monotonic clock (see timers.ts): the flush interval counts from here. */
  acceptedAt: number;
  /** Its sendOnlyOnChange claim: released if the event ends before delivery. */
  change: ChangeClaim | undefined;
  /** Its environment's settings, once known (set in place: the record is not copied). */
  settings: ValidatedSettings | undefined;
}

/** One serialized event waiting for, or travelling in, a batch. */
export interface QueuedEvent {
  /** The settlement ledger's number for the hook call it came from. */
  seq: number;
  /** Its environment: what a request's report and warnings name. */
  environmentKey: string;
  /** The event's JSON in UTF-8, without `sentAt` (see `SerializedEvent`). */
  json: Buffer;
  /** When the hook accepted it, on the monotonic clock: the flush interval counts from here. */
  acceptedAt: number;
  /** Its sendOnlyOnChange claim, confirmed on delivery and released otherwise. */
  change?: ChangeClaim;
  /** Its durable outbox row, once written there: delivery deletes it, a retryable failure hands it back. */
  row?: string;
}
