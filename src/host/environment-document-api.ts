/**
 * Flagsmith's identities and flags endpoints, answered from an environment document with flags
 * evaluated by flagsmith-nodejs offline: the part of a Flagsmith API that computes the response,
 * with no HTTP server of its own, so any framework can serve it (the reference host, examples/).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Flagsmith } from 'flagsmith-nodejs';
import type { ApiFlagItem, ApiTrait, FlagValue, IdentitiesResponse } from './flagsmith-response';
import { offlineFlagsmith } from './offline-flagsmith';
import { FlagRenderer, type EnvironmentDocument } from './render-flags';

/** The document the package ships, fixtures/environment-document.json. */
const SHIPPED_DOCUMENT = path.join(__dirname, '..', '..', 'fixtures', 'environment-document.json');

/** A request Flagsmith answers with an error: the status and JSON body it answers with. */
export class FlagsmithApiError extends Error {
  /** Always `'FlagsmithApiError'`. */
  override name = 'FlagsmithApiError';

  constructor(
    /** The HTTP status to answer with. */
    readonly status: number,
    /** The JSON body to answer with, as Flagsmith words it. */
    readonly body: Record<string, unknown>,
  ) {
    super(JSON.stringify(body));
  }
}

/** The query of GET /api/v1/identities/, as a framework parses it (a repeated parameter is an array). */
export type IdentitiesQuery = Record<string, unknown>;

interface IdentityRequest {
  identifier: string;
  traits: Array<{ trait_key: string; trait_value: FlagValue; transient?: boolean }>;
  transient: boolean;
}

/**
 * The identities endpoint (GET and POST /api/v1/identities/) and the environment flags endpoint
 * (GET /api/v1/flags/) of one environment, computed from its environment document. Traits
 * persist per identity in memory, as Flagsmith stores them, so a GET after a POST sees them.
 * Every method throws {@link FlagsmithApiError} for a request Flagsmith would refuse. Needs
 * flagsmith-nodejs, which evaluates the flags.
 */
export class EnvironmentDocumentApi {
  /** The environment's client-side key (`X-Environment-Key`), from the document. */
  readonly environmentKey: string;
  readonly #document: EnvironmentDocument;
  readonly #flagsmith: Flagsmith;
  readonly #renderer: FlagRenderer;
  readonly #storedTraits = new Map<string, Map<string, ApiTrait>>();
  #lastTraitId = 0;

  /**
   * Reads the document (GET /api/v1/environment-document/, saved as JSON) at
   * `environmentDocumentPath`; without one, the package's fixtures/environment-document.json.
   */
  constructor(environmentDocumentPath: string = SHIPPED_DOCUMENT) {
    this.#document = JSON.parse(fs.readFileSync(environmentDocumentPath, 'utf8')) as EnvironmentDocument;
    this.environmentKey = this.#document.api_key;
    this.#flagsmith = offlineFlagsmith(environmentDocumentPath);
    this.#renderer = new FlagRenderer(this.#document);
  }

  /** GET /api/v1/identities/?identifier=...: the identity's flags and stored traits. */
  getIdentity(environmentKey: unknown, query: IdentitiesQuery): Promise<IdentitiesResponse> {
    return this.#identities(environmentKey, () => {
      const identifier = firstValue(query.identifier);
      return { identifier: typeof identifier === 'string' ? identifier : '', traits: [], transient: firstValue(query.transient) === 'true' };
    });
  }

  /** POST /api/v1/identities/ with `{ identifier, traits?, transient? }` (the parsed JSON body). */
  postIdentity(environmentKey: unknown, body: unknown): Promise<IdentitiesResponse> {
    return this.#identities(environmentKey, () => parseIdentityRequest(body));
  }

  /** GET /api/v1/flags/: the environment's flags, for no identity (Flagsmith calls no integration for it). */
  async environmentFlags(environmentKey: unknown): Promise<ApiFlagItem[]> {
    this.authorize(environmentKey);
    const flags = await this.#flagsmith.getEnvironmentFlags();
    return this.#renderer.render(flags.allFlags());
  }

  /** Stops the flagsmith-nodejs client. */
  async close(): Promise<void> {
    await this.#flagsmith.close();
  }

  /** Throws a 401 {@link FlagsmithApiError} unless `environmentKey` is this environment's key; the other methods check it too. */
  authorize(environmentKey: unknown): void {
    if (environmentKey !== this.#document.api_key) {
      throw new FlagsmithApiError(401, { detail: 'Invalid or missing Environment Key' });
    }
  }

  /** Every refusal, a wrong key first, rejects rather than throws. */
  async #identities(environmentKey: unknown, parse: () => IdentityRequest): Promise<IdentitiesResponse> {
    this.authorize(environmentKey);
    const request = parse();
    if (request.identifier === '') throw new FlagsmithApiError(400, { identifier: ['This field is required.'] });
    const traits = new Map(this.#storedTraits.get(request.identifier));
    for (const { trait_key, trait_value, transient = false } of request.traits) {
      // A null value deletes the trait, as in Flagsmith.
      if (trait_value === null) traits.delete(trait_key);
      else traits.set(trait_key, { id: traits.get(trait_key)?.id ?? ++this.#lastTraitId, trait_key, trait_value, transient });
    }
    if (!request.transient) {
      this.#storedTraits.set(request.identifier, new Map([...traits].filter(([, trait]) => !trait.transient)));
    }
    const values = Object.fromEntries([...traits].map(([key, trait]) => [key, trait.trait_value]));
    const flags = await this.#flagsmith.getIdentityFlags(request.identifier, values);
    return { identifier: request.identifier, flags: this.#renderer.render(flags.allFlags(), request.identifier), traits: [...traits.values()] };
  }
}

function firstValue(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

function parseIdentityRequest(body: unknown): IdentityRequest {
  const { identifier, traits = [], transient = false } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof identifier !== 'string') throw new FlagsmithApiError(400, { identifier: ['This field is required.'] });
  if (!Array.isArray(traits) || !traits.every(isTraitInput)) {
    throw new FlagsmithApiError(400, { traits: ['Each trait needs a string trait_key and a string, number, boolean or null trait_value.'] });
  }
  return { identifier, traits, transient: transient === true };
}

function isTraitInput(value: unknown): value is IdentityRequest['traits'][number] {
  if (typeof value !== 'object' || value === null) return false;
  const { trait_key, trait_value } = value as Record<string, unknown>;
  return typeof trait_key === 'string' && (trait_value === null || ['string', 'number', 'boolean'].includes(typeof trait_value));
}
