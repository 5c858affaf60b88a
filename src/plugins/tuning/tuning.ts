/**
 * tuning: changes sysctls and link settings of the container's interface, chained
 * after a main plugin, as the reference tuning plugin does; DEL puts the link
 * settings (and, here, the sysctls) back from the backup file. The verbs decide here;
 * the kernel and backup work is in _tune.ts, loaded only when there is some.
 */
import type { CmdArgs, PluginInfo } from "../../skel/cmd-args.ts";
import type { Attachment, Result } from "../../spec/types.ts";
import { decodeUtf8 } from "../../sys/libc.ts";
import { NetNS } from "../../sys/netns.ts";
import { typeAt } from "../../sys/stat.ts";
import { failure, invalidConfig } from "../../spec/error.ts";
import { backupDir, backupFile, loadNetConf, setsLink, type TuningConf } from "./_conf.ts";
import { duplicateSysctlKeys } from "./_dup-keys.ts";

/** The netlink, sysctl and backup code (_tune.ts), loaded by the commands that use it. */
const work = () => import("./_tune.ts");

/** The reference refuses a sysctl named twice on ADD and CHECK (JSON.parse would keep the last silently). */
function rejectDuplicateSysctls(args: CmdArgs): void {
  if (duplicateSysctlKeys(decodeUtf8(args.stdinData)).length) throw invalidConfig("duplicated sysctl keys are not allowed");
}

function requirePrev(args: CmdArgs): Result {
  if (!args.prevResult) throw failure("Required prevResult missing");
  return args.prevResult;
}

/** Applies the sysctls and link settings inside the pod; records the old values first. */
async function cmdAdd(args: CmdArgs): Promise<Result> {
  rejectDuplicateSysctls(args);
  const conf = loadNetConf(args);
  const prev = requirePrev(args);
  // Nothing to change: as the reference, no link is looked up and no backup file is
  // written (a backup of nothing restores nothing, and DEL without one succeeds); that
  // CNI_NETNS is a network namespace the skel has checked already.
  if (!setsLink(conf) && Object.keys(conf.sysctl).length === 0) return prev;
  return tuneLink(args, conf, prev);
}

/**
 * cmdAdd's changes, a function of its own: a plugin process pays for a function's whole
 * bytecode at its first call (the `using` block's disposal code is most of it), so an ADD
 * with nothing to tune does not pay for this part.
 */
async function tuneLink(args: CmdArgs, conf: TuningConf, prev: Result): Promise<Result> {
  const { tune } = await work();
  {
    using ns = NetNS.open(args.netns);
    tune(args, conf, ns);
  }
  if (conf.mac) {
    for (const i of prev.interfaces ?? []) if (i.name === args.ifName && i.sandbox) i.mac = conf.mac;
  }
  return prev;
}

/** Each configured value must be what the kernel has now. */
async function cmdCheck(args: CmdArgs): Promise<void> {
  rejectDuplicateSysctls(args);
  const conf = loadNetConf(args);
  requirePrev(args);
  (await work()).check(args, conf);
}

/**
 * Restores the originals when the pod is still there; the backup goes either way. Only
 * dataDir is read from the config: an allow-list or config changed since the ADD must
 * not keep a DEL from succeeding (the reference checks them on ADD only).
 */
async function cmdDel(args: CmdArgs): Promise<void> {
  // Nothing at the backup's name (an ADD with nothing to tune writes none): nothing to
  // restore or remove, so neither the pod nor the netlink code is needed, as the
  // reference returns when its backup file is not there.
  if (typeAt(backupFile(backupDir(args.conf), args.containerID, args.ifName)) === undefined) return;
  (await work()).untune(args);
}

/** Drops the backups of attachments the runtime no longer has (their pods are gone). */
async function cmdGc(args: CmdArgs, valid: Attachment[]): Promise<void> {
  (await work()).dropStaleBackups(args, valid);
}

/** What this plugin says about itself. */
export const info: PluginInfo = { about: "tuning: sysctls and link settings of the container interface (cni-ts)" };

/** The plugin module the registry loads. */
export const plugin = { info, funcs: { add: cmdAdd, check: cmdCheck, del: cmdDel, gc: cmdGc } };
