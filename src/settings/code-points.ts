/** Length in code points, as JSON Schema's minLength and maxLength count it (an emoji is one). */
export function codePointLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}
