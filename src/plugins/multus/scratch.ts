/**
 * The delegate list of a pod, cached at `<cniDir>/<containerID>` before any delegate
 * runs (Multus's saveDelegates/consumeScratchNetConf), in Multus's own JSON so either
 * implementation can DEL what the other added.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { validateContainerID } from "../../spec/validate.ts";
import { errorMessage } from "../../spec/error.ts";
import { loadDelegate } from "./delegate.ts";
import { multusError } from "./errors.ts";
import type { Delegate } from "./types.ts";
import { ensureStateDir, readStateFile, writeStateFile } from "../../sys/state-file.ts";

/** Path of a container's scratch file; the id names a file, so it is validated. */
export function scratchPath(cniDir: string, containerID: string): string {
  validateContainerID(containerID);
  return join(cniDir, containerID);
}

/** One delegate in the JSON of Go's DelegateNetConf (field names and omitempty rules). */
function toGo(d: Delegate, ifName: string | undefined): Record<string, unknown> {
  const list = d.confList;
  const o: Record<string, unknown> = {
    Conf: d.conf
      ? { cniVersion: d.conf.cniVersion, name: d.conf.name, type: d.conf.type, ipam: d.conf.ipam ?? {}, dns: d.conf.dns ?? {} }
      : { ipam: {}, dns: {} },
    ConfList: list
      ? { cniVersion: list.cniVersion, name: list.name, plugins: list.plugins.map((p) => ({ type: p.type, ipam: p.ipam ?? {}, dns: p.dns ?? {} })) }
      : { plugins: null },
    Name: d.name,
  };
  const ifnameRequest = d.ifnameRequest ?? ifName;
  if (ifnameRequest) o.ifnameRequest = ifnameRequest;
  if (d.macRequest) o.macRequest = d.macRequest;
  if (d.infinibandGUIDRequest) o.infinibandGUIDRequest = d.infinibandGUIDRequest;
  if (d.ipRequest?.length) o.ipRequest = d.ipRequest;
  if (d.gatewayRequest) o["default-route"] = d.gatewayRequest;
  o.IsFilterV4Gateway = d.isFilterV4Gateway;
  o.IsFilterV6Gateway = d.isFilterV6Gateway;
  if (d.deviceID) o.deviceID = d.deviceID;
  if (d.resourceName) o.resourceName = d.resourceName;
  o.Bytes = Buffer.from(d.bytes).toString("base64");
  return o;
}

/**
 * Writes the delegate list (atomically). `ifNames` are the interfaces the delegates get;
 * the non-master ones are written as requests, so a DEL numbers them the same even when
 * the list was numbered the v1 way.
 */
export function saveDelegates(cniDir: string, containerID: string, delegates: Delegate[], ifNames: string[]): void {
  const path = scratchPath(cniDir, containerID);
  const body = JSON.stringify(delegates.map((d, i) => toGo(d, d.masterPlugin ? undefined : ifNames[i])));
  try {
    ensureStateDir(cniDir);
    writeStateFile(path, body);
  } catch (e) {
    throw multusError(
      `saveDelegates: error in saving the delegates : saveScratchNetConf: failed to write container data in the path(${JSON.stringify(path)}): ${errorMessage(e)}`,
    );
  }
}

/** Outcome of reading a scratch file. */
export type ScratchRead = { state: "ok"; delegates: Delegate[] } | { state: "missing" } | { state: "corrupt"; error: string };

/** Reads the delegate list; the first is the master, as in Multus. */
export function readDelegates(cniDir: string, containerID: string): ScratchRead {
  const path = scratchPath(cniDir, containerID);
  let text: string;
  try {
    // A planted symlink reads as nothing saved: its target is never used.
    const read = readStateFile(path);
    if (read === undefined) return { state: "missing" };
    text = read;
  } catch (e) {
    return { state: "corrupt", error: errorMessage(e) };
  }
  try {
    const list = JSON.parse(text);
    if (!Array.isArray(list) || list.length === 0) throw new Error("not a list of delegates");
    const delegates = list.map((o: Record<string, unknown>) => {
      if (typeof o.Bytes !== "string") throw new Error("delegate without Bytes");
      const d = loadDelegate(new Uint8Array(Buffer.from(o.Bytes, "base64")));
      d.name = typeof o.Name === "string" ? o.Name : d.name;
      if (typeof o.ifnameRequest === "string" && o.ifnameRequest) d.ifnameRequest = o.ifnameRequest;
      if (typeof o.macRequest === "string" && o.macRequest) d.macRequest = o.macRequest;
      if (Array.isArray(o.ipRequest)) d.ipRequest = o.ipRequest as string[];
      if (typeof o.deviceID === "string" && o.deviceID) d.deviceID = o.deviceID;
      if (typeof o.resourceName === "string" && o.resourceName) d.resourceName = o.resourceName;
      d.isFilterV4Gateway = o.IsFilterV4Gateway === true;
      d.isFilterV6Gateway = o.IsFilterV6Gateway === true;
      return d;
    });
    delegates[0]!.masterPlugin = true;
    return { state: "ok", delegates };
  } catch (e) {
    return { state: "corrupt", error: errorMessage(e) };
  }
}

/** Removes the scratch file; nothing to remove is fine. */
export function removeDelegates(cniDir: string, containerID: string): void {
  rmSync(scratchPath(cniDir, containerID), { force: true });
}
