/**
 * The IPAM part of "bad input changes nothing": the reference makes the bridge and the
 * pair before it runs IPAM, so a missing IPAM plugin or a bad range leaves a new bridge
 * behind. We look the plugin up first and, when it is one of ours run in-process, read
 * its config with its own loader; another plugin's config is its own to check.
 */
import { loadHostLocalConfig } from "../../ipam/host-local-config.ts";
import { loadStaticConfig } from "../../ipam/static.ts";
import { findInPath } from "../../runtime/exec.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import type { IPAMConfig } from "../../spec/types.ts";
import { ownPluginRunner } from "../in-process.ts";

/** Throws the error IPAM ADD would (plugin not on CNI_PATH, bad host-local or static config) before anything is made. */
export function checkIpam(ipam: IPAMConfig, args: CmdArgs): void {
  const path = findInPath(ipam.type, args.path);
  if (!ownPluginRunner(path)) return;
  if (ipam.type === "host-local") loadHostLocalConfig(args.conf, args.args);
  else if (ipam.type === "static") loadStaticConfig(args.conf, args.args);
}
