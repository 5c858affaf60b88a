/**
 * MAC spoof check on a bridge port, as the reference's link.SpoofChecker: in the
 * nftables table `bridge nat`, frames entering from the host veth jump to a chain of
 * the attachment that lets only the container's MAC through and drops the rest.
 */
import { type NftRule, nftApply, nftChainExists, nftDelete, nftListRules, nftString } from "./nft.ts";

const T = "bridge nat";
const BASE = "PREROUTING";

const ifaceChain = (refID: string) => `cni-br-iface-${refID}`;
const comment = (refID: string) => nftString(`macspoofchk-${refID}`);

function checkRefID(refID: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.\-]*$/.test(refID)) throw new RangeError(`Invalid spoof check id ${JSON.stringify(refID)}`);
}

/** The jump rules of this attachment in the base chain (by comment). */
function jumps(refID: string): NftRule[] {
  return nftListRules("bridge", "nat", BASE, `macspoofchk-${refID}`).filter((r) => r.comment === `macspoofchk-${refID}`);
}

/** Lets only `mac` in from `iface` (a bridge port); replaces an earlier setup of the same attachment. */
export function setupSpoofCheck(iface: string, mac: string, refID: string): void {
  checkRefID(refID);
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) throw new RangeError(`Invalid MAC ${JSON.stringify(mac)}`);
  const ic = ifaceChain(refID);
  nftApply([
    `add table ${T}`,
    `add chain ${T} ${BASE} { type filter hook prerouting priority -300 ; policy accept ; }`,
    `add chain ${T} ${ic}`,
    `add chain ${T} ${ic}-mac`,
    `flush chain ${T} ${ic}`,
    `flush chain ${T} ${ic}-mac`,
    ...jumps(refID).map((r) => `delete rule ${T} ${BASE} handle ${r.handle}`),
    `add rule ${T} ${BASE} iifname ${nftString(iface)} jump ${ic} comment ${comment(refID)}`,
    `add rule ${T} ${ic} jump ${ic}-mac comment ${comment(refID)}`,
    `add rule ${T} ${ic}-mac ether saddr ${mac.toLowerCase()} return comment ${comment(refID)}`,
    `add rule ${T} ${ic}-mac drop comment ${comment(refID)}`,
  ]);
}

/** Removes the attachment's jump and chains; nothing there is fine. */
export function teardownSpoofCheck(refID: string): void {
  checkRefID(refID);
  const ic = ifaceChain(refID);
  // Deleting a chain takes its rules along; the jump to it first.
  const chains: string[] = [];
  for (const c of [ic, `${ic}-mac`]) if (nftChainExists("bridge", "nat", c)) chains.push(c);
  nftDelete("bridge", "nat", jumps(refID), chains);
}
