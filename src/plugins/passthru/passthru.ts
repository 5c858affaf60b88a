/**
 * passthru: Multus's passthru-cni, the first plugin of the auxiliary chain Multus builds
 * for `auxiliaryCNIChainName`. ADD answers an empty result, so the plugins chained after
 * it (from `<conf dir>/<chain name>/*.conf`) get a prevResult; DEL and CHECK do nothing.
 */
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import type { Result } from "../../spec/types.ts";

/** An empty result in the config's version (Go's omits the empty lists). */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  return { cniVersion: args.conf.cniVersion };
}

async function cmdDel(): Promise<void> {}

async function cmdCheck(): Promise<void> {}

/** What this plugin says about itself. */
export const info: PluginInfo = {
  about: "passthru: an empty result for Multus's auxiliary chain (cni-ts)",
  supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
};

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel } };
