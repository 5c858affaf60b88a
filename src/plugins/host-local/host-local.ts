/**
 * host-local: hands out addresses from configured ranges and records them on the
 * node's disk, like the reference plugin of the same name, sharing its directory
 * layout and lock so both can run on one node. The work is in src/ipam.
 */
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import type { Attachment, NetConf, Result } from "../../spec/types.ts";
import { hostLocalAdd, hostLocalCheck, hostLocalDel, hostLocalGc, hostLocalStatus } from "../../ipam/host-local.ts";
import { type HostLocalConfig, loadHostLocalConfig } from "../../ipam/host-local-config.ts";

/**
 * The config validate checked last, with the config object and CNI_ARGS it came from: a
 * bridge or ptp ADD validates its IPAM in-process before making anything, then runs its
 * ADD on the same objects, which need not be read and checked twice.
 */
let checked: { conf: NetConf; envArgs: string; config: HostLocalConfig } | undefined;

/** Reserves one address per range set and returns them with routes and DNS. */
function cmdAdd(args: CmdArgs): Result {
  const config = checked && checked.conf === args.conf && checked.envArgs === args.args ? checked.config : undefined;
  checked = undefined;
  return config ? hostLocalAdd(args, config) : hostLocalAdd(args);
}

/** Fails unless the attachment holds an address. */
function cmdCheck(args: CmdArgs): void {
  hostLocalCheck(args);
}

/** Releases the attachment's addresses. */
function cmdDel(args: CmdArgs): void {
  hostLocalDel(args);
}

/** Releases the addresses of attachments the runtime no longer has. */
function cmdGc(args: CmdArgs, valid: Attachment[]): void {
  hostLocalGc(args.conf, valid);
}

/** Succeeds while an ADD could: valid config, writable store, free addresses. */
function cmdStatus(args: CmdArgs): void {
  hostLocalStatus(args.conf);
}

/** Throws what ADD would for a bad config, reserving nothing. */
function validate(args: CmdArgs): void {
  checked = undefined;
  checked = { conf: args.conf, envArgs: args.args, config: loadHostLocalConfig(args.conf, args.args) };
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "host-local: allocates addresses from ranges, recorded on the node's disk" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel, gc: cmdGc, status: cmdStatus, validate } };
