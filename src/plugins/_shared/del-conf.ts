/**
 * What DEL reads of a config. A runtime retries a failing DEL for ever and the pod's
 * sandbox stays stuck, so DEL reads only what teardown needs, each field on its own,
 * and a value that fails its check counts as the given fallback instead of failing
 * (ADD refused such a config, or it changed since: either way teardown goes on).
 */
import type { IPAMConfig, NetConf } from "../../spec/types.ts";
import { boolField, ipamOf } from "./conf-fields.ts";

/** `read()`, or `fallback` when it throws. */
export function bestEffort<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** The IPAM section to delegate DEL to; undefined when there is none or its type cannot be used. */
export function delIpam(conf: NetConf): IPAMConfig | undefined {
  return bestEffort(() => ipamOf(conf), undefined);
}

/** A boolean field; an unreadable one counts as `fallback` (true where undoing what was not done is harmless). */
export function delBool(conf: NetConf, field: string, fallback: boolean): boolean {
  return bestEffort(() => boolField(conf, field), fallback);
}
