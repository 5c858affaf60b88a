/**
 * IPAM delegation for plugins (the reference's pkg/ipam Exec*): the IPAM plugin runs
 * with our CNI_* environment and our own stdin; our own IPAM types run in-process when
 * CNI_PATH resolves them to this binary.
 */
import { delegateAdd, delegateCommand } from "../../runtime/delegate.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import type { Result } from "../../spec/types.ts";
import { ownExec } from "../in-process.ts";

/** Runs ADD of the IPAM plugin `type`; its result in the 1.x shape. */
export function ipamAdd(type: string, args: CmdArgs): Promise<Result> {
  return delegateAdd(type, args, { exec: ownExec() });
}

/** Runs DEL, CHECK, GC or STATUS of the IPAM plugin `type`, with the command given (not CNI_COMMAND). */
export function ipamCommand(command: "DEL" | "CHECK" | "GC" | "STATUS", type: string, args: CmdArgs): Promise<void> {
  return delegateCommand(command, type, args, { exec: ownExec() });
}
