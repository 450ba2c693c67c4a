/** Whether a char code (or a UTF-8 byte) is a hex digit, either case: for `\uXXXX` and `%XX` escapes. */
export function isHexDigit(c: number): boolean {
  const lower = c | 32
  return (c >= 48 && c <= 57) || (lower >= 97 && lower <= 102)
}
