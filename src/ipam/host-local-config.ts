/**
 * host-local's config: the `ipam` section of the network config, plus the addresses a
 * runtime asks for (CNI_ARGS `IP`, `args.cni.ips`, `runtimeConfig.ips`) and the
 * `ipRanges` capability. Checked as a whole, with the reference's texts, before
 * anything touches the disk.
 */
import { isAbsolute } from "../sys/path.ts";
import { loadArgs } from "../spec/args.ts";
import { CniError, ErrorCode } from "../spec/error.ts";
import { canonicalIP, parseCIDR, parseIP } from "../spec/ip.ts";
import type { NetConf, Route } from "../spec/types.ts";
import { greaterThanOrEqual } from "../spec/version.ts";
import { type Obj, arrayField, decodeRoutes, field, invalid, objectField, stringField, stringList } from "./_decode.ts";
import type { RangeInput } from "./range.ts";
import { parseRangeIP, parseSubnet } from "./range.ts";
import { firstOverlappingSets } from "./_overlap.ts";
import { canonicalizeRangeSet, rangeSetFamily, type RangeSet } from "./range-set.ts";
import { DEFAULT_DATA_DIR } from "./store.ts";

/** A checked host-local config. */
export interface HostLocalConfig {
  /** The network name: the store's directory under dataDir. */
  name: string;
  cniVersion: string;
  dataDir: string;
  /** Path of a resolv.conf whose settings become the result's dns; "" for none. */
  resolvConf: string;
  routes: Route[];
  /** One address is taken from each set, in order. */
  ranges: RangeSet[];
  /** Addresses asked for, in standard form, in the order the reference collects them. */
  requestedIPs: Uint8Array[];
}

/** A value of the reference's ip.IP type: an address, or an address with a prefix (whose address counts). */
function parseIPArg(s: string): Uint8Array | undefined {
  return s.includes("/") ? parseCIDR(s)?.ip : (parseIP(s) ?? undefined);
}

/*
 * Loops, not map/filter, in this file: a bridge or ptp ADD parses this config in its own
 * process, which pays for each array builtin's first use (map's: about 0.2 ms).
 */

function requestedFromList(list: string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const s of list) out.push(canonicalIP(parseIPArg(s) ?? invalid(`invalid IP address ${s}`)));
  return out;
}

/** One range of a config (Go's Range, fields matched without regard to case). */
function decodeRange(raw: unknown, where: string): RangeInput {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) invalid(`Invalid ${where}: expected an object`);
  const r = raw as Obj;
  const subnet = field(r, "subnet");
  if (subnet !== undefined && typeof subnet !== "string") invalid(`Invalid ${where}.subnet: expected a string`);
  return {
    subnet: subnet === undefined ? undefined : parseSubnet(subnet),
    rangeStart: parseRangeIP(stringField(r, "rangeStart", where)),
    rangeEnd: parseRangeIP(stringField(r, "rangeEnd", where)),
    gateway: parseRangeIP(stringField(r, "gateway", where)),
  };
}

function decodeRangeSets(v: unknown[], where: string): RangeInput[][] {
  const sets: RangeInput[][] = [];
  for (let i = 0; i < v.length; i++) {
    const set = v[i];
    if (!Array.isArray(set)) invalid(`Invalid ${where}[${i}]: expected an array of ranges`);
    const ranges: RangeInput[] = [];
    for (let j = 0; j < set.length; j++) ranges.push(decodeRange(set[j], `${where}[${i}][${j}]`));
    sets.push(ranges);
  }
  return sets;
}

/** Requested addresses in the reference's order: CNI_ARGS IP, then args.cni.ips, then runtimeConfig.ips. */
function requestedIPs(conf: Obj, envArgs: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const ip = loadArgs(envArgs, ["IP"]).IP;
  if (ip) {
    const parsed = parseIPArg(ip);
    if (!parsed) throw new CniError(ErrorCode.InvalidEnvironmentVariables, `ARGS: error parsing value of pair "IP=${ip}": invalid IP address ${ip}`);
    out.push(canonicalIP(parsed));
  }
  out.push(...requestedFromList(stringList(objectField(objectField(conf, "args", "config"), "cni", "args"), "ips", "args.cni")));
  out.push(...requestedFromList(stringList(objectField(conf, "runtimeConfig", "config"), "ips", "runtimeConfig")));
  return out;
}

/**
 * Reads and checks the host-local config of `conf` (the whole network config, as IPAM
 * plugins get it). Range sets come from `runtimeConfig.ipRanges`, then the old
 * single-range fields of `ipam`, then `ipam.ranges`; each is canonicalized, and sets
 * must not overlap. Code 7 for a bad config, 4 for bad CNI_ARGS.
 */
export function loadHostLocalConfig(conf: NetConf, envArgs: string): HostLocalConfig {
  const ipam = objectField(conf, "ipam", "config") ?? invalid("IPAM config missing 'ipam' key");
  const requested = requestedIPs(conf, envArgs);

  let inputs = decodeRangeSets(arrayField(ipam, "ranges", "ipam"), "ipam.ranges");
  // The single range of old configs sits in `ipam` itself and counts only with a subnet.
  const single = decodeRange(ipam, "ipam");
  if (single.subnet) inputs = [[single], ...inputs];
  const runtimeRanges = arrayField(objectField(conf, "runtimeConfig", "config"), "ipRanges", "runtimeConfig");
  if (runtimeRanges.length) inputs = [...decodeRangeSets(runtimeRanges, "runtimeConfig.ipRanges"), ...inputs];
  if (inputs.length === 0) invalid("no IP ranges specified");

  const ranges: RangeSet[] = [];
  let v4 = 0;
  for (let i = 0; i < inputs.length; i++) {
    try {
      ranges.push(canonicalizeRangeSet(inputs[i]!));
    } catch (e) {
      if (e instanceof CniError) invalid(`invalid range set ${i}: ${e.message}`);
      throw e;
    }
    if (rangeSetFamily(ranges[i]!) === 4) v4++;
  }
  if ((v4 > 1 || ranges.length - v4 > 1) && !greaterThanOrEqual(conf.cniVersion || "0.1.0", "0.3.0")) {
    invalid(`CNI version ${conf.cniVersion} does not support more than 1 address per family`);
  }
  const pair = firstOverlappingSets(ranges);
  if (pair) invalid(`range set ${pair[0]} overlaps with ${pair[1]}`);
  const dataDir = stringField(ipam, "dataDir", "ipam") || DEFAULT_DATA_DIR;
  // A relative one would be resolved against whatever directory the runtime started the plugin in.
  if (!isAbsolute(dataDir)) invalid(`invalid dataDir ${JSON.stringify(dataDir)}: must be an absolute path`);
  return {
    name: conf.name,
    cniVersion: conf.cniVersion,
    dataDir,
    resolvConf: stringField(ipam, "resolvConf", "ipam"),
    routes: decodeRoutes(ipam, "ipam"),
    ranges,
    requestedIPs: requested,
  };
}
