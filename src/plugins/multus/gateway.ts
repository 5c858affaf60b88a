/**
 * `default-route` handling (Multus's netutils): delete the default routes of an
 * interface a pod should not route through, add the requested gateway, and keep the
 * delegate's cached result in step so CHECK and DEL see what is really there.
 */
import { ipFamily } from "../../spec/ip.ts";
import { join } from "node:path";
import { NetlinkHandle, NetlinkError, linkByName, routeAdd, routeDel, routeList } from "../../netlink/index.ts";
import { multusError } from "./errors.ts";
import { readStateFile, writeStateFile } from "../../sys/state-file.ts";

/** Deletes every default route (of both families) through `ifName` in the pod's namespace. */
export function deleteDefaultGW(netns: string, ifName: string, families: { v4: boolean; v6: boolean }): void {
  using h = NetlinkHandle.atPath(netns);
  const link = linkByName(h, ifName);
  for (const r of routeList(h, { link: link.index })) {
    if (r.dst !== undefined) continue;
    if ((r.family === 4 && !families.v4) || (r.family === 6 && !families.v6)) continue;
    routeDel(h, { family: r.family, gw: r.gw, link: link.index, table: r.table, priority: r.priority });
  }
}

/** Adds a default route via each gateway through `ifName`; one already there is fine. */
export function setDefaultGW(netns: string, ifName: string, gateways: string[]): void {
  using h = NetlinkHandle.atPath(netns);
  const link = linkByName(h, ifName);
  for (const gw of gateways) {
    try {
      routeAdd(h, { gw, link: link.index });
    } catch (e) {
      if (!(e instanceof NetlinkError && e.code === "EEXIST")) throw multusError(`SetDefaultGW: Error adding route: ${(e as Error).message}`, e);
    }
  }
}

function editCachedResult(
  cniDir: string,
  netName: string,
  containerID: string,
  ifName: string,
  edit: (routes: { dst: string; gw?: string }[]) => { dst: string; gw?: string }[],
): void {
  const file = join(cniDir, "results", `${netName}-${containerID}-${ifName}`);
  const text = readStateFile(file);
  if (text === undefined) throw multusError("cannot get result from cache");
  const cached = JSON.parse(text);
  const result = cached.result;
  if (!result || typeof result !== "object") throw multusError("cannot get result from cache");
  const routes = edit(Array.isArray(result.routes) ? result.routes : []);
  if (routes.length) result.routes = routes;
  else delete result.routes;
  writeStateFile(file, JSON.stringify(cached));
}

/** DeleteDefaultGWCache: drops 0.0.0.0/0 and/or ::/0 from the delegate's cached result. */
export function deleteDefaultGWCache(cniDir: string, netName: string, containerID: string, ifName: string, v4: boolean, v6: boolean): void {
  editCachedResult(cniDir, netName, containerID, ifName, (routes) =>
    routes.filter((r) => !((v4 && r.dst === "0.0.0.0/0") || (v6 && (r.dst === "::/0" || r.dst === "::0/0")))),
  );
}

/** AddDefaultGWCache: adds the requested default routes to the delegate's cached result. */
export function addDefaultGWCache(cniDir: string, netName: string, containerID: string, ifName: string, gateways: string[]): void {
  editCachedResult(cniDir, netName, containerID, ifName, (routes) => [
    ...routes,
    ...gateways.map((gw) => ({ dst: ipFamily(gw) === 4 ? "0.0.0.0/0" : "::0/0", gw })),
  ]);
}
