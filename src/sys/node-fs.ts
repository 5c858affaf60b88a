/**
 * node:fs on first use. Importing it makes a process set up node:stream, node:events and
 * node:fs/promises, about 2 ms and 2 MB at every plugin start; the modules on the
 * per-exec path that need it only on some branches (a write, a GC, an optional file)
 * take it from here instead of importing it.
 */
type NodeFs = typeof import("node:fs");
let fs: NodeFs | undefined;

/** The node:fs module, loaded the first time it is asked for. */
export function nodeFs(): NodeFs {
  return (fs ??= require("node:fs") as NodeFs);
}
