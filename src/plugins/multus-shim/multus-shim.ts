/**
 * The `multus-shim` plugin (thick mode): hands the command, its CNI_* environment and
 * its config to `cni-ts multus-daemon` over the daemon's unix socket (Multus's POST /cni
 * shape, src/daemon/README.md) and prints what the daemon answers. When the daemon is
 * not there it fails at once with a CNI error that says so, and when it accepted the
 * connection but does not acknowledge the request within 30 s (wedged), after those:
 * it never hangs and has no in-process fallback.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { CmdArgs, PluginFuncs, PluginInfo } from "../../skel/cmd-args.ts";
import { CniError, ErrorCode } from "../../spec/error.ts";
import { parseResult } from "../../spec/result.ts";
import type { Result } from "../../spec/types.ts";

const DEFAULT_SOCKET_DIR = "/run/multus/";
// A daemon that is gone is refused at once (no socket, or nobody listening); one that accepted
// the connection but is busy (a node starting many pods) gets this long to acknowledge.
const ACK_TIMEOUT_MS = 30_000;

/** The shim's own config fields (Multus's ShimNetConf); everything else goes to the daemon. */
function shimConfig(stdin: Uint8Array): { socketPath: string; cniVersion: string } {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(new TextDecoder().decode(stdin));
  } catch (e) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `invalid CNI configuration passed to multus-shim: failed to gather the multus configuration: ${(e as Error).message}`,
    );
  }
  const dir = typeof o.daemonSocketDir === "string" && o.daemonSocketDir ? o.daemonSocketDir : DEFAULT_SOCKET_DIR;
  return { socketPath: join(dir, "multus.sock"), cniVersion: typeof o.cniVersion === "string" ? o.cniVersion : "" };
}

/** The request's env: the call's CNI_* values and any other CNI_* of ours. */
function requestEnv(args: CmdArgs): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith("CNI_") && v !== undefined) env[k] = v;
  Object.assign(env, {
    CNI_COMMAND: args.command,
    CNI_CONTAINERID: args.containerID,
    CNI_NETNS: args.netns,
    CNI_IFNAME: args.ifName,
    CNI_ARGS: args.args,
    CNI_PATH: args.path.join(":"),
  });
  return env;
}

function unreachable(verb: string, socketPath: string, why: string): CniError {
  return new CniError(
    ErrorCode.TryAgainLater,
    `${verb} (shim): the multus daemon does not answer on "${socketPath}": ${why} (is "cni-ts multus-daemon" running?)`,
  );
}

/**
 * This process's network namespace as src/daemon's protocol names it (header
 * X-Cni-Ts-Netns, "<st_dev>:<st_ino>" of /proc/self/ns/net), so a daemon of another
 * namespace refuses the request instead of doing the pod's work in its own.
 */
async function ownNetnsHeader(): Promise<Record<string, string>> {
  try {
    const st = await Bun.file("/proc/self/ns/net").stat();
    return { "X-Cni-Ts-Netns": `${st.dev}:${st.ino}` };
  } catch {
    return {};
  }
}

/** One POST /cni; resolves to what the plugin prints, or throws a clear CniError. */
async function postRequest(verb: string, args: CmdArgs): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const { socketPath } = shimConfig(args.stdinData);
  if (!existsSync(socketPath)) throw unreachable(verb, socketPath, "no socket");
  const body = JSON.stringify({ env: requestEnv(args), config: Buffer.from(args.stdinData).toString("base64") });
  const ack = new AbortController();
  const timer = setTimeout(() => ack.abort(), ACK_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch("http://multus/cni", {
      unix: socketPath,
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...(await ownNetnsHeader()) },
      signal: ack.signal,
    });
  } catch (e) {
    throw unreachable(verb, socketPath, ack.signal.aborted ? `no answer within ${ACK_TIMEOUT_MS} ms` : (e as Error).message);
  } finally {
    clearTimeout(timer);
  }
  const text = await res.text().catch((e) => {
    throw unreachable(verb, socketPath, `connection lost: ${(e as Error).message}`);
  });
  if (res.status !== 200) throw new CniError(ErrorCode.Internal, `${verb} (shim): CNI request failed with status ${res.status}: '${text.trim()}'`);
  let o: { exitCode?: unknown; stdout?: unknown; stderr?: unknown };
  try {
    o = JSON.parse(text);
  } catch {
    throw unreachable(verb, socketPath, "connection closed before the answer was complete");
  }
  if (typeof o.exitCode !== "number" || typeof o.stdout !== "string")
    throw new CniError(ErrorCode.Internal, `${verb} (shim): failed to unmarshal response '${text.trim()}'`);
  return { exitCode: o.exitCode, stdout: o.stdout, stderr: typeof o.stderr === "string" ? o.stderr : "" };
}

async function run(verb: string, args: CmdArgs): Promise<string> {
  const a = await postRequest(verb, args);
  if (a.stderr) process.stderr.write(a.stderr);
  if (a.exitCode !== 0) {
    let err: CniError;
    try {
      err = CniError.fromJSON(JSON.parse(a.stdout));
    } catch {
      err = new CniError(ErrorCode.Internal, `${verb} (shim): daemon failed with status ${a.exitCode}: ${a.stdout.trim()}`);
    }
    throw err;
  }
  return a.stdout;
}

const funcs: PluginFuncs = {
  async add(args): Promise<Result> {
    return parseResult(JSON.parse(await run("CmdAdd", args)), args.conf.cniVersion);
  },
  async del(args) {
    // Multus's shim reports success when the daemon is away; a DEL that did nothing then
    // leaks the pod's addresses, so this one says so and the runtime retries it.
    await run("CmdDel", args);
  },
  async check(args) {
    await run("CmdCheck", args);
  },
  async status(args) {
    await run("CmdStatus", args);
  },
  async gc(args) {
    await run("CmdGC", args);
  },
};

const info: PluginInfo = { about: "multus-shim: Multus's thick plugin, the client of cni-ts multus-daemon (cni-ts)" };

export const plugin = { info, funcs };
