/**
 * A stand-in for cni-worker.ts in worker-pool.test.ts: CNI_COMMAND says what to do.
 * BLOCK holds its thread (synchronously, as a command waiting on a child process does)
 * until the file CNI_ARGS names exists; FLAG makes that file; EXIT ends the thread.
 */
import { existsSync, writeFileSync } from "node:fs";
import { threadId } from "node:worker_threads";

declare const self: Worker;

self.onmessage = (ev: MessageEvent<{ id: number; req: { env: Record<string, string> } }>) => {
  const { id, req } = ev.data;
  const cmd = req.env.CNI_COMMAND;
  const file = req.env.CNI_ARGS ?? "";
  let stdout = `thread ${threadId}`;
  if (cmd === "EXIT") process.exit(3);
  if (cmd === "FLAG") writeFileSync(file, "");
  if (cmd === "BLOCK") {
    const until = Date.now() + 30_000;
    while (!existsSync(file) && Date.now() < until) Bun.sleepSync(5);
    stdout = existsSync(file) ? "saw the flag" : "gave up";
  }
  self.postMessage({ id, answer: { exitCode: 0, stdout, stderr: "" } });
};
self.postMessage({ ready: true });
