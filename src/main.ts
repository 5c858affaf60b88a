/**
 * The cni-ts multi-call binary. Started under a plugin's name (a link
 * /opt/cni/bin/bridge -> cni-ts) it is that plugin; otherwise it is the CLI.
 * The plugin entry (the skel, the daemon hand-over) is imported statically: a dynamic
 * import() costs a compiled binary far more than evaluating those few modules (measured:
 * a no-op ADD 0.9 ms of CPU through the shim, 2 ms without it; VERSION unchanged). Each
 * plugin's own module, and the CLI, load lazily so a plugin run stays small.
 */
import { handOver } from "./daemon/hand-over.ts";
import { type PluginModule, delegates, hasPlugin, loadPlugin, versionAnswer } from "./plugins/registry.ts";
import { setEntryExec } from "./runtime/entry-exec.ts";
import { detachedSendsAsProcess, unmapAfterExit } from "./sys/libc.ts";
import { pluginMain } from "./skel/plugin-main.ts";

/**
 * The name the process was started as; in a compiled Bun binary argv[0] is "bun". Not
 * node:path's basename: loading node:path costs a plugin process about 1 ms.
 */
function invokedAs(): string {
  const path = process.argv0 || process.argv[0] || "cni-ts";
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * The binary starts with JavaScriptCore's tier-up thresholds raised (package.json:
 * --compile-jit-policy), so a plugin process's run-once code stays in the interpreter
 * instead of paying for JIT compiles it never gets back. The CLI and the daemons run long
 * enough for the JIT to pay: they go back to the normal policy at once.
 */
function normalJit(): void {
  Bun.unsafe.setJITPolicy(1);
}

async function main(): Promise<void> {
  let name = invokedAs();
  let argsAt = 2;
  // `cni-ts plugin TYPE` runs a plugin without a link, for development and tests.
  if (!hasPlugin(name) && process.argv[2] === "plugin" && process.argv[3]) [name, argsAt] = [process.argv[3], 4];
  // `dhcp daemon ...` is the dhcp plugin's daemon, as with the reference binary.
  if (name === "dhcp" && process.argv[argsAt] === "daemon") return dhcpDaemon(argsAt + 1);
  if (hasPlugin(name)) {
    if (process.env.CNI_COMMAND === "VERSION") {
      // Runtimes probe VERSION often; the registry knows each plugin's versions
      // (registry.test.ts holds it to the modules), so the answer needs no plugin module.
      await Bun.write(Bun.stdout, versionAnswer(name));
      process.exit(0);
    }
    // The warm path: `cni-ts daemon` runs the command when it listens (src/daemon/README.md);
    // otherwise, or when it fails to answer, the command runs here with the stdin read.
    let stdin: Uint8Array | undefined;
    if ((process.env.CNI_COMMAND ?? "") !== "" && process.env.CNI_TS_DAEMON !== "off") {
      stdin = await handOver(name);
    }
    // Our own IPAM and delegates run in this process when CNI_PATH resolves them to this
    // binary. A type that delegates loads the exec that does it with its module, by
    // import(); any other makes it at a first delegation, by require(), so a plugin that
    // delegates nothing (tuning, loopback) never loads it. A process's first require()
    // costs about 0.6 ms, an import() of the same chunk about 0.06 ms.
    if (delegates(name)) {
      // Both chunks asked for before either is awaited (not Promise.all: a JavaScript-written builtin, compiled at its first call).
      const ownLoading = import("./cli/own-plugins.ts");
      const loaded = await loadPlugin(name);
      const own = await ownLoading;
      setEntryExec(() => own.ownExec());
      return runPlugin(loaded, stdin);
    }
    setEntryExec(() => (require("./cli/own-plugins.ts") as typeof import("./cli/own-plugins.ts")).ownExec());
    return runPlugin(await loadPlugin(name), stdin);
  }
  return cli();
}

/** One command of a loaded plugin, then exit. */
async function runPlugin(plugin: PluginModule, stdin: Uint8Array | undefined): Promise<void> {
  // One command, then exit: a veth's deletion is not waited for by the exit either, nor
  // the unmapping of the process's memory. Not when the parent is its PID namespace's
  // init (a runtime as a container's first process): the tasks would be its orphans, and
  // such a parent may never reap them.
  if (process.ppid !== 1) {
    detachedSendsAsProcess();
    unmapAfterExit();
  }
  await pluginMain(plugin.funcs, plugin.info, stdin);
}

/*
 * The daemon and CLI starts are functions of their own: a plugin process pays for a
 * function's whole bytecode at its first call (JavaScriptCore links all of it before
 * running it), so main() holds only what a plugin run executes.
 */

/** `dhcp daemon ...`, its arguments from argv[from] on. */
async function dhcpDaemon(from: number): Promise<void> {
  normalJit();
  const { runDaemon } = await import("./plugins/dhcp/daemon.ts");
  process.exit(await runDaemon(process.argv.slice(from)));
}

/** The CLI (`cni-ts install`, `cni-ts run`, ...). */
async function cli(): Promise<void> {
  normalJit();
  const [{ runCli }, { wireOwnPlugins }] = await Promise.all([import("./cli/cli.ts"), import("./cli/own-plugins.ts")]);
  wireOwnPlugins();
  process.exitCode = await runCli(process.argv.slice(2));
}

// No top-level await: the entry stays a plain module whatever the build format.
main().catch((e) => {
  Bun.write(Bun.stderr, `cni-ts: ${e instanceof Error ? e.message : String(e)}\n`).then(() => process.exit(1));
});
