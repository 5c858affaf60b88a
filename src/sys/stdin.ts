/**
 * A plugin's stdin (its config) read with read(2) through the libc binding the plugin
 * loads anyway: Bun.stdin's first read costs a process about 1 ms and 2 MB at start.
 */
import { ErrnoError, read } from "./libc.ts";
import { statPath } from "./stat.ts";

const EINTR = 4;
const EAGAIN = 11;
const EBADF = 9;

/** Everything on stdin up to end of file; no stdin (closed fd 0) is empty. */
export async function readStdin(): Promise<Uint8Array> {
  let buf = new Uint8Array(Math.max(64 * 1024, sizeHint() + 1));
  let len = 0;
  for (;;) {
    if (len === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    let n: number;
    try {
      n = read(0, buf, len);
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      if (e.errno === EINTR) continue;
      if (e.errno === EBADF) break;
      // A non-blocking pipe (a parent's choice): the rest through Bun's event loop.
      if (e.errno === EAGAIN) return concat(buf.subarray(0, len), new Uint8Array(await Bun.stdin.arrayBuffer()));
      throw e;
    }
    if (n === 0) break;
    len += n;
  }
  return buf.subarray(0, len);
}

/** A regular file's size (a runtime's config file, the shim's memfd): read in one go; 0 for a pipe. */
function sizeHint(): number {
  try {
    return statPath("/proc/self/fd/0").size;
  } catch {
    return 0;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
