/**
 * node:fs on first use. Importing it makes a process set up node:stream, node:events and
 * node:fs/promises, about 2 ms and 2 MB at every plugin start; the modules on the
 * per-exec path that need it only on some branches (a write, a GC, an optional file)
 * take it from here instead of importing it.
 */
import { ErrnoError } from "./libc.ts";

type NodeFs = typeof import("node:fs");
let fs: NodeFs | undefined;

/** The node:fs module, loaded the first time it is asked for. */
export function nodeFs(): NodeFs {
  return (fs ??= require("node:fs") as NodeFs);
}

/**
 * Runs `libc` (system calls through the binding a plugin has loaded anyway); when it
 * fails, `node` does the same through node:fs, so a failure is thrown in node:fs's words
 * (and codes) as it always was, and node:fs is loaded only then. A failure whose code is
 * in `keep` is the caller's to handle: thrown as it is, with no node:fs to say it.
 */
export function viaLibc<T>(libc: () => T, node: (fs: NodeFs) => T, keep: readonly string[] = []): T {
  try {
    return libc();
  } catch (e) {
    if (!(e instanceof ErrnoError) || keep.includes(e.code)) throw e;
    return node(nodeFs());
  }
}
