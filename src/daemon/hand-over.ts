/**
 * The warm path of a plugin process: when `cni-ts daemon` listens on its socket, the
 * process hands its command (CNI_* and stdin) over and prints the daemon's answer;
 * otherwise the caller runs the plugin in-process as without a daemon. Loaded by
 * main.ts before any plugin code; with no socket file (a node without the daemon) it
 * costs one statx and loads nothing more, else only the protocol client.
 */
import { pathExists } from "../sys/stat.ts";
import { readStdin } from "../sys/stdin.ts";

/**
 * Where `cni-ts daemon` listens unless CNI_TS_DAEMON_SOCKET says otherwise: protocol.ts's
 * DEFAULT_SOCKET, written out here (hand-over.test.ts holds them and the shim's equal) so the daemon's
 * modules importing it do not make this file a chunk of its own that every plugin process
 * loads apart (a module more at start; measured worth at most 0.15 ms of CPU).
 */
export const DEFAULT_SOCKET = "/run/cni-ts/daemon.sock";

/**
 * How long a plugin process waits for the daemon to take its request
 * (CNI_TS_DAEMON_TIMEOUT_MS). A live daemon takes it within milliseconds, but one busy
 * with 100 pods at once on a loaded node was measured past 5 s; a client that gives up
 * while the daemon is already at work would run the command a second time, so only a
 * daemon silent this long (stopped, wedged) is taken for dead. A missing or refusing
 * socket is known at once.
 */
const DEFAULT_ACK_MS = 30_000;

/**
 * Hands the command of plugin `type` to the daemon. Exits the process with the daemon's
 * answer printed when there is one; otherwise returns the stdin it read, for the
 * in-process run (a missing, stale, stopped or dying daemon never fails a pod).
 */
export async function handOver(type: string, env: Record<string, string | undefined> = process.env): Promise<Uint8Array> {
  const socketPath = env.CNI_TS_DAEMON_SOCKET || DEFAULT_SOCKET;
  if (!pathExists(socketPath)) return readStdin();
  const [{ callDaemon, ownNetns }, { cniEnvOf }] = await Promise.all([import("./client.ts"), import("./protocol.ts")]);
  // The namespace is read while stdin is: the daemon refuses a process of another one.
  const [stdin, netns] = await Promise.all([readStdin(), ownNetns()]);
  const ackTimeoutMs = Number(env.CNI_TS_DAEMON_TIMEOUT_MS) > 0 ? Number(env.CNI_TS_DAEMON_TIMEOUT_MS) : DEFAULT_ACK_MS;
  const r = await callDaemon(socketPath, { plugin: type, env: cniEnvOf(env), config: stdin, netns }, { ackTimeoutMs });
  if (r.kind === "unreachable") {
    // Silence for the usual case (no daemon on this node); a daemon that is there but
    // failed is worth a line in the runtime's log.
    if (r.reason.startsWith("daemon refused")) await Bun.write(Bun.stderr, `${type}: cni-ts daemon not used, running in-process: ${r.reason}\n`);
    else if (!r.reason.startsWith("no daemon socket")) await Bun.write(Bun.stderr, `${type}: cni-ts daemon unreachable, running in-process: ${r.reason}\n`);
    return stdin;
  }
  if (r.answer.stderr) await Bun.write(Bun.stderr, r.answer.stderr);
  if (r.answer.stdout) await Bun.write(Bun.stdout, r.answer.stdout);
  process.exit(r.answer.exitCode);
}
