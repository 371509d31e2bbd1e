/**
 * What delivery says to the host's logs, in one place. Each line names the data plane (never
 * the write key), the environments concerned and what a self-hoster can do about it. Identifiers
 * and feature names come from requests, so they are quoted and cut short.
 */
import type { LogFields } from '../types';
import type { QueuedEvent } from './event-record';
import type { AttemptOutcome } from './retry-policy';

/** A log line about a request's events: its words, and what it is about for a structured logger. */
export interface RequestLine {
  text: string;
  fields: LogFields;
}

/** What a request line names of its destination. */
interface Shown {
  dataPlaneUrl: string;
  dataPlaneHost: string;
}

/** Environments a message names at most; a destination can serve thousands. */
const ENVIRONMENTS_NAMED_AT_MOST = 5;

function destinationText(dataPlaneUrl: string, environmentKeys: readonly string[]): string {
  const named = environmentKeys.slice(0, ENVIRONMENTS_NAMED_AT_MOST).join(', ');
  const more = environmentKeys.length > ENVIRONMENTS_NAMED_AT_MOST ? ` and ${environmentKeys.length - ENVIRONMENTS_NAMED_AT_MOST} more` : '';
  return `RudderStack data plane ${dataPlaneUrl} (environment ${named}${more})`;
}

export function pausedLine(destination: Shown, events: readonly QueuedEvent[], outcome: AttemptOutcome, coolDownMs: number, durable: boolean): RequestLine {
  const fate = durable ? 'wait in the outbox' : 'are dropped';
  return requestLine(
    destination,
    events,
    'paused',
    outcome,
    (named) => `${named}: ${pauseReason(outcome)}. Events for it ${fate} for ${Math.round(coolDownMs / 1000)} s, or until its settings change.`,
  );
}

export function parkedLine(destination: Shown, events: readonly QueuedEvent[], outcome: AttemptOutcome | undefined, delayMs: number): RequestLine {
  return requestLine(
    destination,
    events,
    'parked',
    outcome,
    (named) =>
      `${named}: ${events.length} event(s) not delivered (${outcome ? outcomeText(outcome) : 'no attempt'}); ` +
      `they wait in the outbox, and any replica tries them again in ${Math.round(delayMs / 1000)} s`,
  );
}

export function refusedLine(destination: Shown, events: readonly QueuedEvent[], outcome: AttemptOutcome): RequestLine {
  return requestLine(
    destination,
    events,
    'rejected',
    outcome,
    (named) => `${named} refused ${events.length} event(s) for good (${outcomeText(outcome)}): dropped`,
  );
}

export function exhaustedLine(destination: Shown, events: readonly QueuedEvent[], attempts: number, outcome: AttemptOutcome | undefined): RequestLine {
  return requestLine(
    destination,
    events,
    'retries_exhausted',
    outcome,
    (named) => `${named}: ${events.length} event(s) dropped after ${attempts} attempt(s), last ${outcome ? outcomeText(outcome) : 'none'}`,
  );
}

/** The environments of a batch's events, in order of first appearance. */
export function environmentsOf(events: readonly QueuedEvent[]): string[] {
  return [...new Set(events.map((event) => event.environmentKey))];
}

/** The line's words, naming the data plane and the environments of these events, and its fields. */
function requestLine(
  destination: Shown,
  events: readonly QueuedEvent[],
  reason: string,
  outcome: AttemptOutcome | undefined,
  words: (named: string) => string,
): RequestLine {
  const environmentKeys = environmentsOf(events);
  return {
    text: words(destinationText(destination.dataPlaneUrl, environmentKeys)),
    fields: {
      ...(environmentKeys.length === 1 ? { environmentKey: environmentKeys[0] } : { environmentKeys: environmentKeys.slice(0, ENVIRONMENTS_NAMED_AT_MOST) }),
      reason,
      ...(outcome?.kind === 'response' ? { status: outcome.status } : {}),
      dataPlaneHost: destination.dataPlaneHost,
    },
  };
}

export const QUEUE_FULL_OLDEST = 'the event queue is full (maxQueueSize): dropping the oldest events; is the data plane reachable?';
export const QUEUE_FULL_NEWEST = 'the event queue is full (maxQueueSize): dropping the newest events; is the data plane reachable?';

export function traitsLeftOutText(environmentKey: string, traits: readonly string[], userId: string, maxEventBytes: number): string {
  return (
    `environment ${environmentKey}: left out trait(s) ${traits.map(quoteShort).join(', ')} of identity ${quoteShort(userId)}: ` +
    `a value alone is larger than maxEventBytes (${maxEventBytes} bytes)`
  );
}

export function eventTooLargeText(environmentKey: string, userId: string, maxEventBytes: number): string {
  return (
    `environment ${environmentKey}: dropped the identify of ${quoteShort(userId)}: ` +
    `it does not fit in maxEventBytes (${maxEventBytes} bytes) even without traits`
  );
}

export function unmappableText(environmentKey: string, error: unknown): string {
  return `environment ${environmentKey}: dropped an identify that could not be mapped or serialized (${errorText(error)})`;
}

export function unexpectedText(error: unknown): string {
  return `unexpected delivery error: ${errorText(error)}`;
}

export function outboxWriteFailedText(error: unknown): string {
  return (
    `could not write events to the durable outbox: ${errorText(error, 400)}. They are kept in memory (up to maxQueueSize) ` +
    'and sent from there; writing to the outbox is tried again by itself'
  );
}

export function outboxFailedText(doing: string, error: unknown): string {
  return `durable outbox: ${doing} failed: ${errorText(error, 400)}. Undelivered rows stay in the outbox, and it is tried again by itself`;
}

export function outboxDroppedText(count: number, outcome: 'skipped' | 'invalid_settings' | 'expired' | 'outbox_full', environmentKey?: string): string {
  const of = environmentKey === undefined ? '' : ` of environment ${environmentKey}`;
  switch (outcome) {
    case 'skipped':
      return `durable outbox: dropped ${count} undelivered event(s)${of}: the RudderStack integration is no longer enabled there`;
    case 'invalid_settings':
      return `durable outbox: dropped ${count} undelivered event(s)${of}: its RudderStack settings are not usable; correct them in the integration settings`;
    case 'expired':
      return `durable outbox: dropped ${count} event(s) older than maxAgeMs, never delivered: has the data plane been unreachable that long?`;
    case 'outbox_full':
      return `durable outbox: dropped the ${count} oldest event(s): the outbox held more than maxRows; is the data plane reachable?`;
  }
}

export function reportThrewText(error: unknown): string {
  return `onBatchResult threw, and was ignored: ${errorText(error)}`;
}

/** What a self-hoster must fix when a destination is paused. */
function pauseReason(outcome: AttemptOutcome): string {
  if (outcome.kind !== 'response') return `was not contacted: ${outcomeText(outcome)}`;
  if (outcome.status === 401) {
    return 'answered HTTP 401: the data plane does not know this write key; copy the Write Key of an HTTP API source into the API Key of the RudderStack integration';
  }
  if (outcome.status === 404) {
    return 'answered HTTP 404: the source is disabled or the URL is not a data plane; enable the source in RudderStack, or correct the Base URL';
  }
  return (
    `answered HTTP ${outcome.status} to every request, whatever events it carried: something refuses them all ` +
    '(a proxy or firewall in front of the data plane, or a body size limit under maxBatchBytes); check what answers at the Base URL'
  );
}

function outcomeText(outcome: AttemptOutcome): string {
  switch (outcome.kind) {
    case 'response':
      return `HTTP ${outcome.status}`;
    case 'network-error':
      return outcome.message;
    case 'aborted':
      return 'closed';
  }
}

/** A thrown value as text, without throwing in turn (what was thrown may come from hostile input). */
function errorText(error: unknown, maxLength = 200): string {
  try {
    return String(error).slice(0, maxLength);
  } catch {
    return 'unreadable error';
  }
}

/** A name or identifier for a log line: quoted, and cut short. */
function quoteShort(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
