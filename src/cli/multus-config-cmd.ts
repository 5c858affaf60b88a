/**
 * `cni-ts multus-config`: Multus's thin entrypoint. With `--multus-conf-file=auto` (the
 * default) it writes 00-multus.conf (.conflist from CNI 1.0.0 on) naming the first
 * config of the auto-config dir as the only delegate, rewrites it when that master
 * changes and, with --cleanup-config-on-exit, removes it on exit; with a file, copies it.
 */
import { copyFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { startAutoConfig } from "../multus/auto-conf.ts";

const HELP = `usage: cni-ts multus-config [flags]

Multus's thin entrypoint flags:
  --cni-conf-dir DIR                 where 00-multus.conf goes (default /etc/cni/net.d)
  --multus-conf-file auto|FILE       auto-generate (default), or copy FILE into --cni-conf-dir
  --multus-autoconfig-dir DIR        where the master config is found (default --cni-conf-dir)
  --multus-master-cni-file-name F    the master config file (default: the first by name)
  --multus-kubeconfig-file-host F    kubeconfig for multus (default /etc/cni/net.d/multus.d/multus.kubeconfig)
  --cni-version V                    refuse a master of another version
  --namespace-isolation, --global-namespaces LIST, --multus-log-level L, --multus-log-file F,
  --multus-log-to-stderr=false, --additional-bin-dir D, --multus-cni-conf-dir D,
  --readiness-indicator-file F, --override-network-name
  --cleanup-config-on-exit           watch the master (every second) and remove the file on exit
  --skip-config-watch                with --cleanup-config-on-exit: do not watch`;

/** Writes the config (and watches it when asked); returns the exit status. */
export async function multusConfigCmd(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      help: { type: "boolean", short: "h" },
      "cni-conf-dir": { type: "string", default: "/etc/cni/net.d" },
      "multus-conf-file": { type: "string", default: "auto" },
      "multus-autoconfig-dir": { type: "string" },
      "multus-master-cni-file-name": { type: "string" },
      "multus-kubeconfig-file-host": { type: "string", default: "/etc/cni/net.d/multus.d/multus.kubeconfig" },
      "cni-version": { type: "string" },
      "namespace-isolation": { type: "boolean" },
      "global-namespaces": { type: "string" },
      "multus-log-level": { type: "string" },
      "multus-log-file": { type: "string" },
      "multus-log-to-stderr": { type: "string", default: "true" },
      "additional-bin-dir": { type: "string" },
      "multus-cni-conf-dir": { type: "string" },
      "readiness-indicator-file": { type: "string" },
      "override-network-name": { type: "boolean" },
      "cleanup-config-on-exit": { type: "boolean" },
      "skip-config-watch": { type: "boolean" },
    },
  });
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const confDir = v["cni-conf-dir"]!;
  if (v["multus-conf-file"] !== "auto") {
    copyFileSync(v["multus-conf-file"]!, join(confDir, basename(v["multus-conf-file"]!)));
    return 0;
  }
  const watch = !!v["cleanup-config-on-exit"] && !v["skip-config-watch"];
  const auto = await startAutoConfig({
    mode: "thin",
    watch,
    thin: {
      cniConfDir: confDir,
      multusAutoconfigDir: v["multus-autoconfig-dir"],
      multusMasterCNIFileName: v["multus-master-cni-file-name"],
      cniVersion: v["cni-version"],
      kubeconfig: v["multus-kubeconfig-file-host"]!,
      namespaceIsolation: v["namespace-isolation"],
      globalNamespaces: v["global-namespaces"],
      logToStderr: v["multus-log-to-stderr"] !== "false",
      logLevel: v["multus-log-level"],
      logFile: v["multus-log-file"],
      additionalBinDir: v["additional-bin-dir"],
      multusCNIConfDir: v["multus-cni-conf-dir"],
      readinessIndicatorFile: v["readiness-indicator-file"],
      overrideNetworkName: v["override-network-name"],
    },
  });
  console.log(`multus config file is created: ${auto.path()}`);
  if (!v["cleanup-config-on-exit"]) {
    auto.stop = () => {};
    return 0;
  }
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  auto.stop();
  return 0;
}
