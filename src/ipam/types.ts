/** What an in-process IPAM call gets, whichever IPAM type. */
import type { NetConf } from "../spec/types.ts";

/** The network config and the CNI_* values of the attachment (a skel CmdArgs fits). */
export interface IPAMRequest {
  /** The whole network config, `ipam` section included, as IPAM plugins get it. */
  conf: NetConf;
  containerID: string;
  ifName: string;
  /** CNI_ARGS, unparsed. */
  args: string;
}
