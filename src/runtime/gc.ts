/** GC of a network list (spec 1.1.0; libcni's GCNetworkList). */
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import type { Attachment } from "../spec/types.ts";
import { greaterThanOrEqual } from "../spec/version.ts";
import { cacheDirOf, listChain, pluginFailed, resolve, runWithoutAttachment } from "./_chain.ts";
import { chainDel } from "./_ops.ts";
import { listCacheEntries } from "./cache.ts";
import { confListFromBytes } from "./conf-dir.ts";
import type { NetworkConfigList, RuntimeOptions } from "./types.ts";

/**
 * GC: DELs every cached attachment of this network that is not in `validAttachments`
 * (with the config and arguments it was made with, so a since-edited file cannot
 * leave it half removed), then, for 1.1.0 lists, sends GC to every plugin with
 * `cni.dev/valid-attachments`. Does nothing when the list sets disableGC. All
 * failures are collected into one error.
 */
export async function gcNetworkList(list: NetworkConfigList, validAttachments: readonly Attachment[], opts: RuntimeOptions = {}): Promise<void> {
  const chain = listChain(list);
  if (chain.disableGC) return;
  const valid = new Set(validAttachments.map((a) => `${a.containerID}\u0000${a.ifname}`));
  const errors: string[] = [];
  const dir = cacheDirOf(opts);
  let entries: ReturnType<typeof listCacheEntries> = [];
  try {
    entries = listCacheEntries(dir);
  } catch (e) {
    errors.push(errorMessage(e));
  }
  for (const entry of entries) {
    if (entry.network !== chain.name || valid.has(`${entry.containerID}\u0000${entry.ifName}`)) continue;
    let stale = chain;
    try {
      const cachedList = confListFromBytes(entry.config);
      if (cachedList.conf.name === chain.name) stale = listChain(cachedList);
    } catch {
      // An unreadable cached config: the current one is the best we have.
    }
    const rt = {
      containerID: entry.containerID,
      netns: entry.netns ?? "",
      ifName: entry.ifName,
      args: entry.cniArgs,
      capabilityArgs: entry.capabilityArgs,
      cacheDir: dir,
    };
    try {
      await chainDel(stale, rt, opts);
    } catch (e) {
      errors.push(`failed to delete stale attachment ${entry.containerID} ${entry.ifName}: ${errorMessage(e)}`);
    }
  }
  if (greaterThanOrEqual(chain.cniVersion, "1.1.0")) {
    const attachments = validAttachments.map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
    // The spec first named the key "cni.dev/attachments" (CNI #1101); send both.
    const inject = { "cni.dev/valid-attachments": attachments, "cni.dev/attachments": attachments };
    const r = resolve(opts);
    for (const conf of chain.plugins) {
      try {
        await runWithoutAttachment(r, chain, { command: "GC", conf, inject });
      } catch (e) {
        errors.push(pluginFailed(conf, "gc", e).message);
      }
    }
  }
  if (errors.length > 0) throw new CniError(ErrorCode.Internal, `GC of network "${chain.name}" failed: ${errors.join("; ")}`);
}
