export { InvalidInputError, type InvalidInputReason } from './errors';
export { readFlags, type FlagState } from './flag-inputs';
export { toTraits, traitValue, type TraitValue } from './traits';
export { buildIdentifyMessage } from './identify';
