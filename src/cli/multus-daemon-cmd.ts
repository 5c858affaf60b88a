/**
 * `cni-ts multus-daemon [--config daemon-config.json]`: Multus's thick server. Serves the
 * multus-shim's requests on <socketDir>/multus.sock (0600 in a 0700 dir) with the daemon
 * protocol, keeps its node's pods and the NADs in informer caches, and with
 * `"multusConfigFile": "auto"` writes 00-multus.conf for the first config of the conf dir.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { serveDaemon } from "../daemon/server.ts";
import { DEFAULT_DAEMON_CONFIG, loadDaemonConfig, SOCKET_NAME } from "../multus/daemon-config.ts";
import { startAutoConfig } from "../multus/auto-conf.ts";
import { startMultusDaemon } from "../multus/thick.ts";

const HELP = `usage: cni-ts multus-daemon [--config FILE]

Multus's thick server for the multus-shim plugin. FILE is Multus's daemon-config.json
(default ${DEFAULT_DAEMON_CONFIG}): socketDir (default /run/multus/), logLevel, logFile,
logToStderr, multusConfigFile ("auto" writes <cniConfigDir>/00-multus.conf naming the first
config of multusAutoconfigDir as the cluster network), cniVersion, readinessindicatorfile,
kubeconfig (else the in-cluster config), nodeName (else $MULTUS_NODE_NAME). Every field is
also laid over the config of each request, as Multus does.`;

/** Runs the daemon until SIGTERM/SIGINT; returns the exit status. */
export async function multusDaemonCmd(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv.map((a) => (a === "-config" ? "--config" : a)),
    options: { config: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const cfg = loadDaemonConfig(values.config ?? DEFAULT_DAEMON_CONFIG);
  const auto = cfg.multusConfigFile === "auto" ? await startAutoConfig({ mode: "thick", daemon: cfg }) : undefined;
  if (!auto) copyUserProvidedConfig(cfg.multusConfigFile, cfg.cniConfigDir);
  const daemon = startMultusDaemon(cfg, { ignoreReadinessIndicator: !!auto });
  mkdirSync(cfg.socketDir, { recursive: true, mode: 0o700 });
  const server = await serveDaemon(join(cfg.socketDir, SOCKET_NAME), {
    cni: (req) => daemon.handle(req),
    ready: () => daemon.ready(),
    route: (req) => (new URL(req.url).pathname === "/delegate" && req.method === "POST" ? daemon.delegate(req) : undefined),
  });
  console.error(`multus-daemon: serving on ${server.socketPath}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    auto?.onExit(stop);
  });
  daemon.drain();
  await server.stop();
  daemon.stop();
  auto?.stop();
  // Open watch connections would keep the process up; a daemon that stops, stops.
  process.exit(auto?.exitCode() ?? 0);
}

/** Multus copies a given multus config into the CNI conf dir (unless it is there already). */
function copyUserProvidedConfig(file: string, confDir: string): void {
  const src = resolve(file);
  if (dirname(src) === resolve(confDir)) return;
  try {
    copyFileSync(src, join(confDir, basename(src)));
  } catch (e) {
    console.error(`multus-daemon: failed to copy the user provided configuration ${file}: ${(e as Error).message}`);
  }
}
