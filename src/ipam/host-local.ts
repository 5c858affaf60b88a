/**
 * host-local's commands as functions, for the host-local plugin and for main plugins
 * (bridge, ...) that run IPAM in-process: ADD, CHECK and DEL as the reference does
 * them, plus GC and STATUS, which the reference lacks.
 */
import { isAbsolute } from "../sys/path.ts";
import { getFold } from "../spec/capabilities.ts";
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import { formatIP, ipOf } from "../spec/ip.ts";
import type { Attachment, IPConfig, NetConf, Result } from "../spec/types.ts";
import { CURRENT_VERSION } from "../spec/version.ts";
import { allocateIP } from "./allocator.ts";
import { type HostLocalConfig, loadHostLocalConfig } from "./host-local-config.ts";
import { rangeSetContains, rangeSetSize, rangeSetToString } from "./range-set.ts";
import { nodeFs } from "../sys/node-fs.ts";
import { readResolvConf } from "./resolv-conf.ts";
import { DEFAULT_DATA_DIR, DiskStore } from "./store.ts";
import type { IPAMRequest } from "./types.ts";

/** Opens the network's store; a directory that cannot be made is code 999 with the system's reason. */
function openStore(c: Pick<HostLocalConfig, "name" | "dataDir">): DiskStore {
  try {
    return DiskStore.open(c.name, c.dataDir);
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw new CniError(ErrorCode.Internal, errorMessage(e), { cause: e });
  }
}

/**
 * Which requested address goes to which range set: the first one a set holds, as the
 * reference takes them. Fails, before anything is reserved, when one is left over.
 */
function assignRequested(c: HostLocalConfig): (Uint8Array | undefined)[] {
  const left = [...c.requestedIPs];
  // Loops, not map/findIndex: a plugin process pays for a builtin's first use.
  const out: (Uint8Array | undefined)[] = [];
  for (const set of c.ranges) {
    let i = 0;
    while (i < left.length && !rangeSetContains(set, left[i]!)) i++;
    out.push(i < left.length ? left.splice(i, 1)[0] : undefined);
  }
  if (left.length) throw new CniError(ErrorCode.Internal, `failed to allocate all requested IPs: ${left.map(formatIP).join(" ")}`);
  return out;
}

/**
 * Reserves one address from every range set for the attachment and returns them with
 * the config's routes and the resolvConf's DNS, in the 1.x shape (ips carry no
 * interface index, as the reference's do not). All or nothing: what this call reserved
 * is released when a later set fails. `c` is the request's config when the caller has
 * checked it already.
 */
export function hostLocalAdd(req: IPAMRequest, c: HostLocalConfig = loadHostLocalConfig(req.conf, req.args)): Result {
  const wanted = assignRequested(c);
  const dns = c.resolvConf ? readResolvConf(c.resolvConf) : {};
  using store = openStore(c);
  const ips = store.withLock(() => {
    const got: IPConfig[] = [];
    try {
      for (let idx = 0; idx < c.ranges.length; idx++) {
        const set = c.ranges[idx]!;
        try {
          got.push(allocateIP(store, { set, rangeIndex: idx, id: req.containerID, ifname: req.ifName, requestedIP: wanted[idx] }));
        } catch (e) {
          if (e instanceof CniError) throw new CniError(e.code, `failed to allocate for range ${idx}: ${e.message}`, { cause: e });
          throw e;
        }
      }
    } catch (e) {
      for (const ip of got) store.release(ip.address.slice(0, ip.address.indexOf("/")));
      throw e;
    }
    return got;
  });
  const result: Result = { cniVersion: CURRENT_VERSION, ips };
  if (c.routes.length) result.routes = c.routes;
  result.dns = dns;
  return result;
}

/**
 * Releases the attachment's addresses; succeeds when it holds none. DEL is best effort
 * and reads only what it needs: where the reservations are and how many range sets
 * there are. A config ADD would refuse (bad ranges, CNI_ARGS) still releases what the
 * attachment holds, and no range is parsed or checked: that was most of a DEL's own
 * work in a bridge's process (about 0.5 ms, the first run of the config's code).
 */
export function hostLocalDel(req: IPAMRequest): void {
  const dataDir = delDataDir(req.conf);
  if (dataDir === undefined) return;
  const sets = delRangeSets(req.conf);
  using store = openStore({ name: req.conf.name, dataDir });
  // One release per range set, as the reference does: the later ones also clear
  // files of old versions that name only the container.
  store.withLock(() => {
    for (let i = 0; i < sets; i++) store.releaseByID(req.containerID, req.ifName);
  });
}

/** A config object's field as the reference's structs read it (any case; null is unset). */
function objectIn(obj: unknown, key: string): Record<string, unknown> | undefined {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return undefined;
  const v = getFold(obj as Record<string, unknown>, key);
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** ipam.dataDir as DEL can use it; undefined when it is not an absolute path (no ADD got that far). */
function delDataDir(conf: NetConf): string | undefined {
  const ipam = objectIn(conf, "ipam");
  const d = ipam ? getFold(ipam, "dataDir") : undefined;
  if (d === undefined || d === null || d === "") return DEFAULT_DATA_DIR;
  return typeof d === "string" && isAbsolute(d) ? d : undefined;
}

/**
 * How many range sets ADD reads from the config (runtimeConfig.ipRanges, the old single
 * range of ipam, ipam.ranges), counted without parsing them; 2 when none is there (a
 * config ADD refuses), as before.
 */
function delRangeSets(conf: NetConf): number {
  const ipam = objectIn(conf, "ipam");
  const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);
  const n =
    count(getFold(objectIn(conf, "runtimeConfig") ?? {}, "ipRanges")) +
    count(ipam && getFold(ipam, "ranges")) +
    (typeof (ipam && getFold(ipam, "subnet")) === "string" ? 1 : 0);
  return n > 0 ? n : 2;
}

/** Fails unless the attachment holds at least one address of the network. */
export function hostLocalCheck(req: IPAMRequest): void {
  const c = loadHostLocalConfig(req.conf, req.args);
  using store = openStore(c);
  if (!store.withLock(() => store.findByID(req.containerID, req.ifName))) {
    throw new CniError(ErrorCode.Internal, `host-local: Failed to find address added by container ${req.containerID}`);
  }
}

/**
 * Releases every reservation of the network whose attachment is not in `valid` (SPEC
 * 1.1 GC). A file of an old version names only the container: it stays while any
 * valid attachment has that container. Returns the released addresses.
 */
export function hostLocalGc(conf: NetConf, valid: Attachment[]): string[] {
  const c = loadHostLocalConfig(conf, "");
  const keep = new Set(valid.map((a) => `${a.containerID.trim()}\r\n${a.ifname}`));
  const containers = new Set(valid.map((a) => a.containerID.trim()));
  using store = openStore(c);
  return store.withLock(() =>
    store
      .reservations()
      .filter((r) => (r.ifname === "" ? !containers.has(r.containerID) : !keep.has(`${r.containerID}\r\n${r.ifname}`)))
      .filter((r) => store.release(r.ip))
      .map((r) => r.ip),
  );
}

/**
 * SPEC 1.1 STATUS for IPAM: ready when an ADD could succeed, that is the config is
 * valid (code 7 otherwise), the store is writable and every range set has a free
 * address (code 50, "plugin not available", otherwise).
 */
export function hostLocalStatus(conf: NetConf): void {
  const c = loadHostLocalConfig(conf, "");
  let store: DiskStore;
  try {
    store = DiskStore.open(c.name, c.dataDir);
    nodeFs().accessSync(store.dir, nodeFs().constants.W_OK);
  } catch (e) {
    throw new CniError(ErrorCode.PluginNotAvailable, `host-local: data dir not writable: ${errorMessage(e)}`, { cause: e });
  }
  using _ = store;
  const reserved = store.withLock(() => store.reservedAddresses().map((ip) => ipOf(ip)));
  c.ranges.forEach((set, idx) => {
    const used = reserved.filter((ip) => rangeSetContains(set, ip)).length;
    if (BigInt(used) >= rangeSetSize(set)) {
      throw new CniError(ErrorCode.PluginNotAvailable, `failed to allocate for range ${idx}: no IP addresses available in range set: ${rangeSetToString(set)}`);
    }
  });
}
