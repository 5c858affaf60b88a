/** Hex helpers for the codec tests: bytes as "0a 00 03 00", as kernel dumps are usually written. */

/** Bytes as space-separated hex pairs. */
export const hex = (b: Uint8Array): string =>
  Buffer.from(b)
    .toString("hex")
    .replace(/(..)(?!$)/g, "$1 ");

/** Space-separated (or not) hex pairs as bytes. */
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
