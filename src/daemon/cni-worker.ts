/**
 * A worker thread of `cni-ts daemon` (worker-pool.ts): runs the commands the main thread
 * posts and posts the answers back. A Bun Worker is an OS thread of its own, so a
 * setns into a pod's namespace moves this thread only, and its modules are its own.
 * Built into the binary as an entry point of its own (package.json's build).
 */
import type { CniRequest } from "./protocol.ts";
import { preloadPlugins, runCommand, wireCommandRunner } from "./run-command.ts";
import type { FromWorker, ToWorker } from "./worker-pool.ts";

declare const self: Worker;

wireCommandRunner();
// Loaded before the first request, not by it: every thread has its own modules, and the
// first pod a cold thread took paid for loading them (a fresh daemon's burst of pods
// met several cold threads at once).
const preloaded = preloadPlugins();

self.onmessage = async (ev: MessageEvent<ToWorker>) => {
  const { id, req } = ev.data;
  let msg: FromWorker;
  try {
    await preloaded;
    msg = { id, answer: await runCommand(req as CniRequest) };
  } catch (e) {
    msg = { id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  self.postMessage(msg);
};
void preloaded.then(() => self.postMessage({ ready: true } satisfies FromWorker));
