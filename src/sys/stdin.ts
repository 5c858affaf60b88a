/**
 * A plugin's stdin (its config) read with read(2) through the libc binding the plugin
 * loads anyway: Bun.stdin's first read costs a process about 1 ms and 2 MB at start.
 */
import { ErrnoError, readFd } from "./libc.ts";
import { statFd } from "./stat.ts";

const EBADF = 9;

/** Everything on stdin up to end of file; no stdin (closed fd 0) is empty. */
export async function readStdin(): Promise<Uint8Array> {
  let r: ReturnType<typeof readFd>;
  try {
    r = readFd(0, sizeHint());
  } catch (e) {
    if (e instanceof ErrnoError && e.errno === EBADF) return new Uint8Array();
    throw e;
  }
  if (r.complete) return r.data;
  // A non-blocking pipe (a parent's choice): the rest through Bun's event loop.
  return concat(r.data, new Uint8Array(await Bun.stdin.arrayBuffer()));
}

/** A regular file's size (a runtime's config file, the shim's memfd): read in one go; 0 for a pipe. */
function sizeHint(): number {
  try {
    return statFd(0).size;
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
