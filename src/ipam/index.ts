/**
 * IPAM in-process: host-local (ranges, disk store, allocator) and static, for the IPAM
 * plugins and for main plugins that do not want to start a second process.
 */
export type { IPAMRequest } from "./types.ts";
export { hostLocalAdd, hostLocalCheck, hostLocalDel, hostLocalGc, hostLocalStatus } from "./host-local.ts";
export { loadHostLocalConfig, type HostLocalConfig } from "./host-local-config.ts";
export { staticAdd, staticCheck, loadStaticConfig, type StaticAddress, type StaticConfig } from "./static.ts";
export { allocateIP, RangeIter, type Allocation, type Store } from "./allocator.ts";
export { DiskStore, DEFAULT_DATA_DIR, type Reservation } from "./store.ts";
export { canonicalizeRange, rangeContains, type Range, type RangeInput } from "./range.ts";
export { canonicalizeRangeSet, rangeFor, rangeSetContains, rangeSetToString, type RangeSet } from "./range-set.ts";
export { parseResolvConf, readResolvConf } from "./resolv-conf.ts";
