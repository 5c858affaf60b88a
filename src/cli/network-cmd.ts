/** `cni-ts add|check|del NETWORK NETNS`, `cni-ts gc NETWORK`, `cni-ts status NETWORK` (cnitool's verbs). */
import { parseArgs } from "node:util";
import { loadConfList } from "../runtime/conf-dir.ts";
import { gcNetworkList } from "../runtime/gc.ts";
import { getStatusNetworkList } from "../runtime/status.ts";
import { addNetworkList, checkNetworkList, delNetworkList } from "../runtime/network-list.ts";
import { CniError, errorMessage } from "../spec/error.ts";
import { convertResult } from "../spec/result.ts";
import type { Attachment } from "../spec/types.ts";
import { confDir, runtimeConf, runtimeOptions } from "./_env.ts";

const HELP: Record<string, string> = {
  add: "usage: cni-ts add NETWORK NETNS\n\nADDs NETNS (a path such as /var/run/netns/x) to NETWORK and prints the result in the\nnetwork's cniVersion. The result is cached in CNI_CACHE_DIR for check and del.",
  check: "usage: cni-ts check NETWORK NETNS\n\nCHECKs the attachment made by add (spec 0.4.0 and later).",
  del: "usage: cni-ts del NETWORK NETNS\n\nDELs the attachment, with the cached result when there is one.",
  gc: "usage: cni-ts gc NETWORK [--valid CONTAINERID/IFNAME]...\n\nDELs every cached attachment of NETWORK not named by --valid, then sends GC to each\nplugin (spec 1.1.0 lists).",
  status: "usage: cni-ts status NETWORK\n\nAsks every plugin of NETWORK for STATUS (spec 1.1.0 lists); exit 0 when all are ready.",
};

/** Runs one cnitool verb; returns the exit status. */
export async function networkCmd(cmd: "add" | "check" | "del" | "gc" | "status", argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: "boolean", short: "h" }, valid: { type: "string", multiple: true } },
  });
  if (values.help) {
    console.log(HELP[cmd]);
    return 0;
  }
  const needsNetns = cmd === "add" || cmd === "check" || cmd === "del";
  if (positionals.length !== (needsNetns ? 2 : 1)) {
    console.error(HELP[cmd]);
    return 2;
  }
  const [network, netns] = positionals as [string, string | undefined];
  const opts = runtimeOptions();
  try {
    const list = loadConfList(confDir(), network);
    switch (cmd) {
      case "add": {
        const result = await addNetworkList(list, runtimeConf(netns!), opts);
        console.log(JSON.stringify(convertResult(result, list.conf.cniVersion), null, 4));
        return 0;
      }
      case "check":
        await checkNetworkList(list, runtimeConf(netns!), opts);
        return 0;
      case "del":
        await delNetworkList(list, runtimeConf(netns!), opts);
        return 0;
      case "gc":
        await gcNetworkList(list, (values.valid ?? []).map(parseAttachment), opts);
        return 0;
      case "status":
        await getStatusNetworkList(list, opts);
        return 0;
    }
  } catch (e) {
    if (e instanceof CniError) {
      console.error(`cni-ts ${cmd}: ${e.message}${e.details ? `: ${e.details}` : ""}`);
      console.log(JSON.stringify(e));
    } else console.error(`cni-ts ${cmd}: ${errorMessage(e)}`);
    return 1;
  }
}

function parseAttachment(s: string): Attachment {
  const slash = s.lastIndexOf("/");
  if (slash <= 0 || slash === s.length - 1) throw new Error(`Invalid --valid "${s}": expected CONTAINERID/IFNAME`);
  return { containerID: s.slice(0, slash), ifname: s.slice(slash + 1) };
}
