/**
 * Finding and running plugin binaries: the pluggable part of the runtime, like libcni's
 * invoke.Exec. Tests wrap it (run plugins under `ip netns exec NODE`); the top layer
 * can hand in an in-process hook to run our own plugin types without a process.
 */
import { join } from "../sys/path.ts";
import type { CmdArgs } from "../skel/cmd-args.ts";
import type { Invocation, Outcome } from "../skel/run.ts";
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import type { VersionInfo } from "../spec/version.ts";
import { validatePluginType } from "../spec/validate.ts";
import { isRegularFile, statPath } from "../sys/stat.ts";
import { PluginError, decodePluginFailure } from "./plugin-error.ts";

/** Finds and runs plugins; every runtime operation goes through one of these. */
export interface PluginExec {
  /** Runs a plugin with stdin and its full environment; resolves to stdout, throws a PluginError on failure. */
  execPlugin(pluginPath: string, stdin: Uint8Array, env: Record<string, string>): Promise<Uint8Array>;
  /** The path of plugin `type` in the first directory of `paths` that has it. */
  findInPath(type: string, paths: readonly string[]): string;
  /** Decodes a VERSION answer. */
  decode(stdout: Uint8Array): VersionInfo;
  /**
   * Throws what the plugin's ADD would throw for this stdin and environment, changing
   * nothing, when the plugin can tell without running (one of ours, in-process);
   * otherwise passes: a process plugin checks its own config when it runs.
   */
  validate?(pluginPath: string, stdin: Uint8Array, env: Record<string, string>): Promise<void>;
  /** The runner of `pluginPath` when it is one of ours run in this process. */
  inProcess?(pluginPath: string): InProcessRunner | undefined;
}

/** One of our plugins run in this process; the ExecOptions.inProcess hook returns it for paths it owns. */
export interface InProcessRunner {
  /** Runs one invocation with every rule of the protocol, as the process would. */
  run(inv: Invocation): Promise<Outcome>;
  /** Throws what ADD would throw for this invocation, changing nothing. */
  validate(inv: Invocation): Promise<void>;
  /** callPlugin (skel/run.ts): ADD or DEL on arguments the caller's skel has checked. */
  call?(args: CmdArgs): Promise<unknown>;
  /** validateCall (skel/run.ts): validate on arguments the caller's skel has checked. */
  validateCall?(args: CmdArgs): Promise<void>;
}

/** Options of defaultExec. */
export interface ExecOptions {
  /** Kill a plugin (and its process group) after this long; 0 = never. Default 120 s. */
  timeoutMs?: number;
  /** The argv to start a plugin with; default [pluginPath]. Tests prefix `ip netns exec NODE`. */
  argv?: (pluginPath: string) => string[];
  /** Runs the plugin in-process when it returns a runner for this path (our own binary). */
  inProcess?: (pluginPath: string) => InProcessRunner | undefined;
  /** Receives what a successful plugin wrote on stderr; default: copied to our stderr, as libcni does. */
  onStderr?: (text: string, pluginPath: string) => void;
  /** Pause between tries when the binary is still being written (ETXTBSY); default 1000 ms. */
  retryDelayMs?: number;
  /** Extra tries on ETXTBSY; default 5, as libcni. */
  retries?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;

/** Looks a plugin type up on CNI_PATH: the first regular file named `type`. */
export function findInPath(type: string, paths: readonly string[]): string {
  validatePluginType(type);
  if (paths.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, `Cannot find plugin "${type}": no CNI_PATH directories given`);
  for (const dir of paths) {
    if (dir === "") continue;
    const full = join(dir, type);
    try {
      if (isRegularFile(statPath(full))) return full;
    } catch {
      // not in this directory
    }
  }
  throw new CniError(ErrorCode.InvalidNetworkConfig, `failed to find plugin "${type}" in path [${paths.join(" ")}]`);
}

/** Decodes a VERSION answer as libcni's PluginDecoder does (0.2.0 plugins may omit the list). */
export function decodeVersionInfo(stdout: Uint8Array | string): VersionInfo {
  const text = typeof stdout === "string" ? stdout : new TextDecoder().decode(stdout);
  let o: Partial<VersionInfo>;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `decoding version info: ${errorMessage(e)}`);
  }
  if (typeof o !== "object" || o === null || typeof o.cniVersion !== "string" || o.cniVersion === "") {
    throw new CniError(ErrorCode.DecodingFailure, "decoding version info: missing field cniVersion");
  }
  const supported = Array.isArray(o.supportedVersions) ? o.supportedVersions.filter((v) => typeof v === "string") : [];
  if (supported.length === 0) {
    if (o.cniVersion === "0.2.0") return { cniVersion: o.cniVersion, supportedVersions: ["0.1.0", "0.2.0"] };
    throw new CniError(ErrorCode.DecodingFailure, "decoding version info: missing field supportedVersions");
  }
  return { cniVersion: o.cniVersion, supportedVersions: supported };
}

/** The PluginExec that starts plugin processes (or runs them in-process through the hook). */
export function defaultExec(options: ExecOptions = {}): PluginExec {
  return {
    execPlugin: (pluginPath, stdin, env) => runPlugin(pluginPath, stdin, env, options),
    findInPath,
    decode: decodeVersionInfo,
    inProcess: (pluginPath) => options.inProcess?.(pluginPath),
    validate: async (pluginPath, stdin, env) => {
      const runner = options.inProcess?.(pluginPath);
      if (runner) await inProcessRun(pluginPath, () => runner.validate({ env, stdin }));
    },
  };
}

async function runPlugin(pluginPath: string, stdin: Uint8Array, env: Record<string, string>, o: ExecOptions): Promise<Uint8Array> {
  const runner = o.inProcess?.(pluginPath);
  const outcome: RawOutcome = runner ? await inProcessRun(pluginPath, () => runner.run({ env, stdin })) : await spawnWithRetry(pluginPath, stdin, env, o);
  const stdout = typeof outcome.stdout === "string" ? new TextEncoder().encode(outcome.stdout) : outcome.stdout;
  if (outcome.exitCode !== 0 || outcome.signal) {
    throw decodePluginFailure({ pluginPath, exitCode: outcome.exitCode, signal: outcome.signal, stdout, stderr: outcome.stderr });
  }
  if (outcome.stderr) (o.onStderr ?? ((t) => process.stderr.write(t)))(outcome.stderr, pluginPath);
  return stdout;
}

/** runPlugin never throws, but a hook may be anything: its throw other than a CniError is the plugin failing. */
export async function inProcessRun<T>(pluginPath: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw new PluginError(
      ErrorCode.Internal,
      `plugin "${pluginPath}" failed in-process: ${errorMessage(e)}`,
      { pluginPath, exitCode: null, stderr: "" },
      { cause: e },
    );
  }
}

interface RawOutcome {
  exitCode: number | null;
  signal?: string;
  stdout: Uint8Array | string;
  stderr: string;
}

async function spawnWithRetry(pluginPath: string, stdin: Uint8Array, env: Record<string, string>, o: ExecOptions): Promise<RawOutcome> {
  const retries = o.retries ?? 5;
  for (let attempt = 0; ; attempt++) {
    try {
      return await spawnOnce(pluginPath, stdin, env, o);
    } catch (e) {
      // A binary that is still open for writing (an upgrade in progress) cannot be
      // executed yet; libcni waits and tries again, and so do we.
      if ((e as { code?: string }).code === "ETXTBSY" && attempt < retries) {
        await Bun.sleep(o.retryDelayMs ?? 1000);
        continue;
      }
      if (e instanceof PluginError) throw e;
      throw new PluginError(
        ErrorCode.IOFailure,
        `Cannot run plugin "${pluginPath}": ${errorMessage(e)}`,
        {
          pluginPath,
          exitCode: null,
          stderr: "",
        },
        { cause: e },
      );
    }
  }
}

async function spawnOnce(pluginPath: string, stdin: Uint8Array, env: Record<string, string>, o: ExecOptions): Promise<RawOutcome> {
  const argv = o.argv ? o.argv(pluginPath) : [pluginPath];
  // Its own process group, so a timeout also kills what the plugin started (a shell's
  // children would otherwise keep the pipes open and the read waiting).
  const proc = Bun.spawn(argv, { stdin, stdout: "pipe", stderr: "pipe", env, detached: true });
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timedOut = false;
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          killGroup(proc.pid);
        }, timeoutMs)
      : undefined;
  const stdoutP = new Response(proc.stdout).bytes();
  const stderrP = new Response(proc.stderr).text();
  try {
    await proc.exited;
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) {
    const stderr = await withGrace(stderrP, "");
    throw new PluginError(
      ErrorCode.Internal,
      `plugin "${pluginPath}" timed out after ${timeoutMs} ms and was killed`,
      {
        pluginPath,
        exitCode: null,
        stderr,
      },
      { details: stderr.trim() },
    );
  }
  const [stdout, stderr] = await Promise.all([stdoutP, stderrP]);
  return { exitCode: proc.exitCode, signal: proc.signalCode == null ? undefined : String(proc.signalCode), stdout, stderr };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** The value of p, or `fallback` when it takes longer than a moment (a pipe held open by an escaped child). */
function withGrace<T>(p: Promise<T>, fallback: T): Promise<T> {
  return Promise.race([p, Bun.sleep(200).then(() => fallback)]);
}
