/**
 * static: an IPAM plugin that returns the addresses, routes and DNS of its config (or
 * of CNI_ARGS / runtimeConfig) without allocating anything, like the reference plugin
 * of the same name. The work is in src/ipam/static.ts.
 */
import { loadStaticConfig, staticAdd, staticCheck } from "../../ipam/static.ts";
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import type { Result } from "../../spec/types.ts";

/** Returns the configured addresses, routes and DNS. */
function cmdAdd(args: CmdArgs): Result {
  return staticAdd(args);
}

/** Fails when the prevResult carries a configured address with another gateway. */
function cmdCheck(args: CmdArgs): void {
  staticCheck(args, args.prevResult);
}

/** Nothing was allocated, so nothing to release. */
function cmdDel(): void {}

/** Nothing to collect. */
function cmdGc(): void {}

/** Ready whenever the config is valid. */
function cmdStatus(args: CmdArgs): void {
  loadStaticConfig(args.conf, "");
}

/** Throws what ADD would for a bad config. */
function validate(args: CmdArgs): void {
  loadStaticConfig(args.conf, args.args);
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "static: returns the addresses, routes and DNS its config names" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel, gc: cmdGc, status: cmdStatus, validate } };
