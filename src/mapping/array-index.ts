/** A key an object lists before all others, and the only kind an array's elements have: a canonical integer below 2^32 - 1. */
export function isArrayIndex(name: string): boolean {
  const first = name.charCodeAt(0);
  if (first < 0x30 || first > 0x39) return false;
  const index = Number(name);
  return index < 4294967295 && Number.isInteger(index) && String(index) === name;
}
