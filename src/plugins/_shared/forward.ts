/** IP forwarding in the node's namespace, as the reference's ip.EnableForward. */
import type { IPConfig } from "../../spec/types.ts";
import { sysctlGet, sysctlSet } from "../../sys/sysctl.ts";
import { failure } from "./errors.ts";
import { familyOfText } from "../../spec/ip.ts";

/** Turns on forwarding for every family in use (never turned off again: others may rely on it). */
export function enableForward(ips: IPConfig[]): void {
  const families = new Set(ips.map((i) => familyOfText(i.address)));
  const knobs = { 4: "net/ipv4/ip_forward", 6: "net/ipv6/conf/all/forwarding" } as const;
  for (const f of families) {
    try {
      if (sysctlGet(knobs[f]) !== "1") sysctlSet(knobs[f], "1");
    } catch (e) {
      throw failure("Could not enable IP forwarding", e);
    }
  }
}
