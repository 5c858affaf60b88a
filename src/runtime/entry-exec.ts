/**
 * The exec every delegation uses when the caller names none, as the entry point sets it
 * (src/main.ts, a daemon: our own plugin types in-process). Kept apart from delegate.ts,
 * with no imports, so the entry point can set it as a maker without loading the
 * delegation code: a plugin process whose command never delegates (tuning, loopback)
 * then never evaluates the runtime's exec code and what it loads.
 */
import type { PluginExec } from "./exec.ts";

let exec: PluginExec | undefined;
let make: (() => PluginExec) | undefined;

/** Sets the exec, or a function that makes it at the first delegation; undefined unsets it. */
export function setEntryExec(e: PluginExec | (() => PluginExec) | undefined): void {
  exec = typeof e === "function" ? undefined : e;
  make = typeof e === "function" ? e : undefined;
}

/** The exec the entry point set (made now when it gave a maker), or undefined. */
export function entryExec(): PluginExec | undefined {
  if (!exec && make) {
    exec = make();
    make = undefined;
  }
  return exec;
}
