import type { PluginFuncs, PluginInfo } from "./cmd-args.ts";
import { runPlugin } from "./run.ts";

/** Reads all of stdin (empty when stdin is a terminal or closed). */
async function readStdin(): Promise<Uint8Array> {
  if (process.stdin.isTTY) return new Uint8Array();
  return new Uint8Array(await Bun.stdin.arrayBuffer());
}

/**
 * The plugin entry: CNI_* variables and stdin in, one result or error object out, exit
 * status 0 or 1. Equivalent to the reference's skel.PluginMain.
 */
export async function pluginMain(funcs: PluginFuncs, info: PluginInfo): Promise<never> {
  const out = await runPlugin(funcs, info, { env: process.env, stdin: await readStdin() });
  if (out.stderr) process.stderr.write(out.stderr);
  if (out.stdout) await Bun.write(Bun.stdout, out.stdout);
  process.exit(out.exitCode);
}
