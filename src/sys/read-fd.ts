/** Reading a whole file descriptor with read(2) through the libc binding, without node:fs. */
import { ErrnoError, read } from "./libc.ts";

const EINTR = 4;
const EAGAIN = 11;

/**
 * Reads `fd` to its end: `complete` is false when a non-blocking descriptor had nothing
 * more yet (EAGAIN), with what was read so far. `sizeHint` (a regular file's size) sizes
 * the buffer so a file is read in one go.
 */
export function readFd(fd: number, sizeHint = 0): { data: Uint8Array; complete: boolean } {
  let buf = new Uint8Array(Math.max(64 * 1024, sizeHint + 1));
  let len = 0;
  for (;;) {
    if (len === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    let n: number;
    try {
      n = read(fd, buf, len);
    } catch (e) {
      if (e instanceof ErrnoError && e.errno === EINTR) continue;
      if (e instanceof ErrnoError && e.errno === EAGAIN) return { data: buf.subarray(0, len), complete: false };
      throw e;
    }
    if (n === 0) return { data: buf.subarray(0, len), complete: true };
    len += n;
  }
}
