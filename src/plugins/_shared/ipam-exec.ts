/**
 * IPAM delegation for plugins (the reference's pkg/ipam Exec*): the IPAM plugin runs
 * with our CNI_* environment and our own stdin, through the exec the entry point set
 * (our own IPAM types in-process when CNI_PATH resolves them to this binary).
 */
import { delegateAdd, delegateCommand, delegateValidate } from "../../runtime/delegate.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import type { IPAMConfig, IPConfig, Result } from "../../spec/types.ts";
import { failure } from "../../spec/error.ts";
import type { Rollback } from "./rollback.ts";

/** Runs ADD of the IPAM plugin `type`; its result in the 1.x shape. */
function ipamAdd(type: string, args: CmdArgs): Promise<Result> {
  return delegateAdd(type, args);
}

/** Runs DEL, CHECK, GC or STATUS of the IPAM plugin `type`, with the command given (not CNI_COMMAND). */
export function ipamCommand(command: "DEL" | "CHECK" | "GC" | "STATUS", type: string, args: CmdArgs): Promise<void> {
  return delegateCommand(command, type, args);
}

/**
 * Throws what IPAM ADD would (plugin not on CNI_PATH; a bad config of one of ours run
 * in-process), before the plugin makes anything: "bad input changes nothing" for the
 * IPAM section too. The reference makes its links first and leaves them behind.
 */
export function ipamValidate(type: string, args: CmdArgs): Promise<void> {
  return delegateValidate(type, args);
}

/**
 * The IPAM step of an interface plugin's ADD: runs IPAM ADD, records its DEL on `undo`,
 * fails when IPAM gave no address, and puts every address on interface `iface` (the
 * index of the pod's interface in the plugin's result).
 */
export async function ipamAddFor(type: string, args: CmdArgs, undo: Rollback, iface: number): Promise<Result & { ips: IPConfig[] }> {
  const result = await ipamAdd(type, args);
  undo.add("IPAM ADD", () => ipamCommand("DEL", type, args));
  if (!result.ips?.length) throw failure("IPAM plugin returned missing IP config");
  // A loop, not map: a plugin process pays for an array builtin's first use.
  const ips: IPConfig[] = [];
  for (const ipc of result.ips) ips.push({ ...ipc, interface: iface });
  return { ...result, ips };
}

/** Runs IPAM's DEL, CHECK, GC or STATUS when the config has an IPAM section (an L2-only attachment has none). */
export async function ipamIfAny(command: "DEL" | "CHECK" | "GC" | "STATUS", conf: { ipam?: IPAMConfig }, args: CmdArgs): Promise<void> {
  if (conf.ipam) await ipamCommand(command, conf.ipam.type, args);
}
