/** Hardware (MAC) addresses as text, the way iproute2 prints them: lower-case, colon-separated. */

/** Formats hardware address bytes ("02:42:ac:11:00:02"); "" for none. */
export function formatMAC(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}

/** Parses "02:42:ac:11:00:02" (or with dashes); throws RangeError on anything else. */
export function parseMAC(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (parts.length < 2 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new RangeError(`Cannot parse hardware address ${JSON.stringify(s)}: expected hex pairs like 02:42:ac:11:00:02`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}
