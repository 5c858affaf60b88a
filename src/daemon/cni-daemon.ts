/**
 * `cni-ts daemon`: the optional warm path of a node. It serves our plugin types on a
 * root-only unix socket; a plugin process started by the runtime hands its command over
 * (hand-over.ts) and prints the answer, so the command runs in an already started,
 * already compiled process. Without it, plugins run in their own process as always.
 * Commands run on a pool of worker threads (worker-pool.ts), side by side.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { DEFAULT_SOCKET } from "./protocol.ts";
import { runCommand, wireCommandRunner } from "./run-command.ts";
import { serveDaemon } from "./server.ts";
import { WorkerPool } from "./worker-pool.ts";

/**
 * Threads by default: a command spends much of its time blocked (iptables child
 * processes, locks, the kernel), so several threads per core keep the cores busy (100
 * pods at once on 2 cores: 8 threads 3-7% faster than 4 in three runs out of three);
 * each costs its own heap (2 MB idle with its modules loaded, more once busy).
 */
export const DEFAULT_WORKERS = Math.min(16, Math.max(4, 4 * availableParallelism()));

export const DAEMON_HELP = `usage: cni-ts daemon [--socket PATH] [--workers N]

Serves this binary's plugin types to plugin processes on a root-only unix socket
(default ${DEFAULT_SOCKET}; 0600 in a 0700 directory). A plugin started by the runtime
hands its command over when the socket answers and runs in its own process when it
does not, so stopping the daemon never fails a pod. The work happens in the daemon's
network namespace: a plugin process in another one (or one that does not say which)
is refused and runs in its own process. Commands run side by side on N worker
threads (default ${DEFAULT_WORKERS}, four per core; 0: all on the main thread, one at a time while one blocks).
Plugin processes look for the socket at CNI_TS_DAEMON_SOCKET when set;
CNI_TS_DAEMON=off makes them not look. Stops on SIGTERM or SIGINT.`;

/** `cni-ts daemon [--socket PATH] [--workers N]`; resolves to the exit status when stopped. */
export async function daemonCmd(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { socket: { type: "string", default: DEFAULT_SOCKET }, workers: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(DAEMON_HELP);
    return 0;
  }
  const workers = values.workers === undefined ? DEFAULT_WORKERS : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 0) {
    console.error(`cni-ts daemon: invalid --workers ${JSON.stringify(values.workers)}: expected a whole number`);
    return 2;
  }
  wireCommandRunner();
  const pool = workers > 0 ? new WorkerPool(workers) : undefined;
  // Our clients always say their namespace: one that does not is refused and runs in-process.
  const server = await serveDaemon(
    values.socket!,
    { cni: (req) => (pool ? pool.run(req) : runCommand(req)), ready: () => pool?.ready() ?? true },
    { noNetns: "refuse", name: "cni-ts daemon" },
  );
  console.error(`cni-ts daemon: serving plugins on ${server.socketPath} (${workers ? `${workers} worker threads` : "main thread"})`);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await server.stop();
  pool?.close();
  console.error("cni-ts daemon: stopped");
  return 0;
}
