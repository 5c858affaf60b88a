/** The `cni-ts` command: a cnitool-compatible runtime CLI, plugin installer and inspector. */
import { CURRENT_VERSION, ALL_VERSIONS } from "../spec/version.ts";
import { errorMessage } from "../spec/error.ts";

export const VERSION = "0.1.0";

const HELP = `usage: cni-ts COMMAND [ARGS]

Run as a CNI plugin: link this binary under a plugin's name (cni-ts install).

Commands (cnitool-compatible where cnitool has them):
  add NETWORK NETNS      ADD the pod namespace NETNS to NETWORK, print the result
  check NETWORK NETNS    CHECK the attachment made by add
  del NETWORK NETNS      DEL the attachment
  gc NETWORK             GC: remove cached attachments not named by --valid CID/IFNAME
  status NETWORK         STATUS of every plugin of NETWORK
  ls [--json]            list the config files, which one a kubelet would use and why
                         the others are skipped
  validate NETWORK       check that every plugin of NETWORK exists and supports its version
  install [--bin-dir D]  link every plugin type into D (default /opt/cni/bin)
  plugin TYPE            run as plugin TYPE (reads CNI_* and stdin)
  flanneld [FLAGS]       flannel's node daemon (etcd or Kubernetes subnet manager)
  daemon [--socket S]    serve plugin commands to plugin processes (the warm path; --workers N threads)
  multus-daemon          Multus's thick server for the multus-shim plugin
  multus-config          write (and keep up to date) 00-multus.conf for the thin multus plugin
  version                print versions

Environment: NETCONFPATH (default /etc/cni/net.d), CNI_PATH (default /opt/cni/bin),
CNI_IFNAME (default eth0), CNI_ARGS, CAP_ARGS (JSON), CNI_CACHE_DIR (default
/var/lib/cni), CNI_CONTAINERID (default: derived from NETNS as cnitool does).
Run "cni-ts COMMAND --help" for one command.`;

/** Runs the CLI with its arguments; returns the exit status. */
export async function runCli(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case "help":
      case "-h":
      case "--help":
        console.log(HELP);
        return cmd === undefined ? 2 : 0;
      case "version":
      case "--version":
        console.log(`cni-ts ${VERSION}\nCNI spec ${CURRENT_VERSION} (supports ${ALL_VERSIONS.join(", ")})`);
        console.log(`libc through ${(await import("../sys/libc.ts")).libcBackend()}`);
        return 0;
      case "install":
        return (await import("./install-cmd.ts")).installCmd(rest);
      case "add":
      case "check":
      case "del":
      case "gc":
      case "status":
        return (await import("./network-cmd.ts")).networkCmd(cmd, rest);
      case "ls":
        return (await import("./ls-cmd.ts")).lsCmd(rest);
      case "flanneld":
        return (await import("../flannel/flanneld.ts")).runFlanneld(rest);
      case "multus-daemon":
        return (await import("./multus-daemon-cmd.ts")).multusDaemonCmd(rest);
      case "multus-config":
        return (await import("./multus-config-cmd.ts")).multusConfigCmd(rest);
      case "validate":
        return (await import("./validate-cmd.ts")).validateCmd(rest);
      case "daemon":
        return (await import("../daemon/cni-daemon.ts")).daemonCmd(rest);
      default:
        console.error(`cni-ts: unknown command "${cmd}"\n\n${HELP}`);
        return 2;
    }
  } catch (e) {
    console.error(`cni-ts ${cmd}: ${errorMessage(e)}`);
    return 1;
  }
}
