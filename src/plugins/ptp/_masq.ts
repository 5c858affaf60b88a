/**
 * ptp's ipMasq: masquerade what leaves the node from the container's addresses, with
 * the reference's chain names and comments. Waits for the netfilter layer.
 */
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { CniError, ErrorCode } from "../../spec/error.ts";
import type { NetConf } from "../../spec/types.ts";

/** Code 2 until src/netfilter provides the masquerade rule sets; loadNetConf calls it before anything is made. */
export function assertIPMasqAvailable(): void {
  throw new CniError(ErrorCode.UnsupportedField, `"ipMasq" is not supported yet`);
}

/** Refused until src/netfilter provides the masquerade rule sets. */
export async function setupIPMasq(_conf: NetConf, _args: CmdArgs, _nets: string[]): Promise<void> {
  throw new CniError(ErrorCode.UnsupportedField, `"ipMasq" is not supported yet`);
}

/** Nothing to remove while setupIPMasq refuses. */
export async function teardownIPMasq(_conf: NetConf, _args: CmdArgs, _nets: string[]): Promise<void> {}
