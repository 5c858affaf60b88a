import type { Attachment, Command, NetConf, Result } from "../spec/types.ts";

/** What a command handler gets: the CNI_* variables, the raw stdin and its decoded config. */
export interface CmdArgs {
  command: Command;
  containerID: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS, unparsed ("K=V;K2=V2"). */
  args: string;
  /** CNI_PATH, split on ":". */
  path: string[];
  stdinData: Uint8Array;
  /** The config on stdin: its name checked, its cniVersion one the plugin supports ("" read as 0.1.0). */
  conf: NetConf;
  /** conf.prevResult converted to the 1.x shape, when present. */
  prevResult?: Result;
}

/** The handlers a plugin provides; GC and STATUS succeed by default when absent. */
export interface PluginFuncs {
  add(args: CmdArgs): Promise<Result> | Result;
  check?(args: CmdArgs): Promise<void> | void;
  del(args: CmdArgs): Promise<void> | void;
  gc?(args: CmdArgs, validAttachments: Attachment[]): Promise<void> | void;
  status?(args: CmdArgs): Promise<void> | void;
  /**
   * Throws the error ADD would throw for this config, changing nothing. A plugin that
   * delegates (to IPAM) asks its delegate this before it makes anything, so a bad
   * delegate config leaves nothing behind.
   */
  validate?(args: CmdArgs): Promise<void> | void;
}

/** What a plugin says about itself. */
export interface PluginInfo {
  /** Printed on stderr when the plugin runs without CNI_COMMAND. */
  about: string;
  /** Versions the plugin accepts; all of them by default. */
  supportedVersions?: readonly string[];
}
