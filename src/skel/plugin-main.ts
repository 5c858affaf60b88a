import type { PluginFuncs, PluginInfo } from "./cmd-args.ts";
import { settleTasks, writeOut } from "../sys/libc.ts";
import { readStdin } from "../sys/stdin.ts";
import { runPlugin } from "./run.ts";

/**
 * The plugin entry: CNI_* variables and stdin in, one result or error object out, exit
 * status 0 or 1. Equivalent to the reference's skel.PluginMain.
 *
 * Start-up matters here (one process per pod and command): stdin is read with read(2)
 * (src/sys/stdin.ts) and the answer written with write(2) (sys/libc.ts writeOut), not
 * process.stdout/process.stderr, whose Node stream objects cost ~9 ms each to create,
 * nor Bun.stdout, about 1 MB of RSS. Stdin is not read when no
 * command or VERSION is asked for, so running a plugin by hand in a terminal prints its
 * about text instead of waiting.
 * The exit's own work, unmapping the process's memory (about 1 ms), is left to a task of
 * its own (sys/libc.ts unmapAfterExit, which the entry starts), so the runtime has the
 * answer and the exit status without waiting for it; the process's tasks are settled
 * (settleTasks) before the exit, so none still holds stdout open.
 * `stdinRead` is stdin already read by the caller (a daemon hand-over that fell through).
 */
export async function pluginMain(funcs: PluginFuncs, info: PluginInfo, stdinRead?: Uint8Array): Promise<never> {
  const command = process.env.CNI_COMMAND ?? "";
  const stdin = stdinRead ?? (command === "" || command === "VERSION" ? new Uint8Array() : await readStdin());
  const out = await runPlugin(funcs, info, { env: process.env, stdin });
  if (out.stderr) await writeOut(2, out.stderr);
  if (out.stdout) await writeOut(1, out.stdout);
  // The answer is out; no task of this process still holds stdout once this returns.
  settleTasks();
  process.exit(out.exitCode);
}
