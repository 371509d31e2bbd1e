import type { BuildIdentifyOptions, IdentifyMessage, IdentityFetchContext, ValueMode } from '../types';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version';
import { InvalidInputError } from './errors';
import { readFlags, type FlagState } from './flag-inputs';
import { isEmptyToGateway } from './gateway-empty';
import { traitList, traitsObject, type TraitList } from './traits';

/**
 * The identify event for one identity fetch: `userId` is the identifier exactly as given, and
 * the traits are the identity's flags (see `toTraits`). The identity's own traits are not sent,
 * as Flagsmith does not send them.
 *
 * Throws `InvalidInputError`: 'no_user_id' when the identifier is not a string or holds nothing
 * visible (the data plane would reject the whole batch for it: see `isEmptyToGateway`), 'invalid_input' when the context or
 * its flags cannot be read. Nothing else escapes, whatever getters the context carries.
 */
export function buildIdentifyMessage(context: IdentityFetchContext, options?: BuildIdentifyOptions): IdentifyMessage {
  return identifyMessage(captureIdentify(context, options));
}

/**
 * An identify as the hook captures it: everything read from the host's objects at once (they may
 * change after the call), the identifier checked, the time fixed. Mapping the flags to traits,
 * and making a messageId, wait until after the host's request: see `identifyMessage` and
 * delivery's `serializeIdentify`.
 */
export interface IdentifyCapture {
  userId: string;
  flags: FlagState[];
  valueMode: ValueMode;
  /** The caller's; otherwise one is made with the event, after the host's request. */
  messageId?: string;
  originalTimestamp: string;
  /** Its traits once mapped: see `capturedTraits`. */
  traits?: TraitList;
}

/** Reads and checks what `buildIdentifyMessage` needs, and throws what it throws. */
export function captureIdentify(context: IdentityFetchContext, options?: BuildIdentifyOptions): IdentifyCapture {
  const { identifier, flags } = readContext(context);
  if (typeof identifier !== 'string' || isEmptyToGateway(identifier)) {
    throw new InvalidInputError('no_user_id', 'identity.identifier is not a string with a visible character');
  }
  return {
    userId: identifier,
    // Throws 'invalid_input' when flags is none of the FlagsInput shapes.
    flags: readFlags(flags),
    valueMode: options?.valueMode ?? 'documented',
    messageId: options?.messageId,
    originalTimestamp: options?.timestamp ? options.timestamp.toISOString() : isoTimestampNow(),
    traits: undefined,
  };
}

/**
 * The capture's traits, mapped on first use and kept: with sendOnlyOnChange the hook maps them to
 * hash them, and delivery then writes the same list rather than mapping again.
 */
export function capturedTraits(capture: IdentifyCapture): TraitList {
  return (capture.traits ??= traitList(capture.flags, capture.valueMode));
}

export function identifyMessage(capture: IdentifyCapture): IdentifyMessage {
  const traits = traitsObject(capturedTraits(capture));
  return {
    type: 'identify',
    userId: capture.userId,
    traits,
    context: { traits, library: { name: LIBRARY_NAME, version: LIBRARY_VERSION } },
    channel: 'server',
    // The global Web Crypto: importing node:crypto would load it with the package, not on first use.
    messageId: capture.messageId ?? crypto.randomUUID(),
    originalTimestamp: capture.originalTimestamp,
  };
}

let lastTimestampMs = Number.NaN;
let lastTimestamp = '';

/** Now as an ISO string. A busy API maps many identities per millisecond; they share one string. */
function isoTimestampNow(): string {
  const now = Date.now();
  if (now !== lastTimestampMs) {
    lastTimestampMs = now;
    lastTimestamp = new Date(now).toISOString();
  }
  return lastTimestamp;
}

/** The two parts of the context the event needs, read once; any failure is 'invalid_input'. */
function readContext(context: unknown): { identifier: unknown; flags: unknown } {
  try {
    if (typeof context !== 'object' || context === null) {
      throw new InvalidInputError('invalid_input', 'context is not an object');
    }
    const { identity, flags } = context as Partial<IdentityFetchContext>;
    if (typeof identity !== 'object' || identity === null) {
      throw new InvalidInputError('invalid_input', 'context.identity is not an object');
    }
    return { identifier: (identity as { identifier?: unknown }).identifier, flags };
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError('invalid_input', 'context could not be read', { cause: error });
  }
}
