/**
 * MAC spoof check on a bridge port, as the reference's link.SpoofChecker: in the
 * nftables table `bridge nat`, frames entering from the host veth jump to a chain of
 * the attachment that lets only the container's MAC through and drops the rest.
 */
import {
  NF_DROP,
  NFT_CMP_EQ,
  NFT_JUMP,
  NFT_META_IIFNAME,
  NFT_PAYLOAD_LL_HEADER,
  NFT_RETURN,
  type NftExprAttr,
  cmpExpr,
  metaExpr,
  payloadExpr,
  verdictExpr,
} from "../netlink/nft-expr.ts";
import type { NftOp } from "../netlink/nftables.ts";
import { type NftRule, nftChainExists, nftDelete, nftListRules, nftTransactTables } from "./nft.ts";

const BASE = "PREROUTING";

const ifaceChain = (refID: string) => `cni-br-iface-${refID}`;

function checkRefID(refID: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.\-]*$/.test(refID)) throw new RangeError(`Invalid spoof check id ${JSON.stringify(refID)}`);
}

/** The jump rules of this attachment in the base chain (by comment). */
function jumps(refID: string): NftRule[] {
  return nftListRules("bridge", "nat", BASE, `macspoofchk-${refID}`).filter((r) => r.comment === `macspoofchk-${refID}`);
}

/** NF_BR_PRE_ROUTING */
const BRIDGE_PREROUTING = 0;

/** `iifname "NAME"`: the name NUL-padded to IFNAMSIZ, as nft compares it. */
function iifnameIs(name: string): NftExprAttr[] {
  const b = new Uint8Array(16);
  const n = new TextEncoder().encode(name);
  if (n.length > 15) throw new RangeError(`Invalid interface name ${JSON.stringify(name)}`);
  b.set(n);
  return [metaExpr(NFT_META_IIFNAME), cmpExpr(NFT_CMP_EQ, b)];
}

/**
 * Lets only `mac` in from `iface` (a bridge port); replaces an earlier setup of the same
 * attachment. The reference's script, as one transaction over netlink (nftTransactTables):
 *   add table bridge nat
 *   add chain bridge nat PREROUTING { type filter hook prerouting priority -300 ; policy accept ; }
 *   add chain / flush chain bridge nat IC and IC-mac (IC: cni-br-iface-REFID)
 *   delete rule bridge nat PREROUTING handle H (the attachment's earlier jumps)
 *   add rule bridge nat PREROUTING iifname "IFACE" jump IC comment "macspoofchk-REFID"
 *   add rule bridge nat IC jump IC-mac comment "..."
 *   add rule bridge nat IC-mac ether saddr MAC return comment "..."
 *   add rule bridge nat IC-mac drop comment "..."
 */
export function setupSpoofCheck(iface: string, mac: string, refID: string): void {
  checkRefID(refID);
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) throw new RangeError(`Invalid MAC ${JSON.stringify(mac)}`);
  const ic = ifaceChain(refID);
  const comment = `macspoofchk-${refID}`;
  const macBytes = new Uint8Array(6);
  for (let i = 0; i < 6; i++) macBytes[i] = Number.parseInt(mac.slice(i * 3, i * 3 + 2), 16);
  const ops: NftOp[] = [
    { addTable: true },
    { addChain: BASE, hook: { type: "filter", num: BRIDGE_PREROUTING, priority: -300, policy: "accept" } },
    { addChain: ic },
    { addChain: `${ic}-mac` },
    { flush: ic },
    { flush: `${ic}-mac` },
  ];
  for (const r of jumps(refID)) ops.push({ rule: BigInt(r.handle), chain: BASE });
  ops.push(
    { addRule: BASE, exprs: [...iifnameIs(iface), verdictExpr(NFT_JUMP, ic)], comment },
    { addRule: ic, exprs: [verdictExpr(NFT_JUMP, `${ic}-mac`)], comment },
    { addRule: `${ic}-mac`, exprs: [payloadExpr(NFT_PAYLOAD_LL_HEADER, 6, 6), cmpExpr(NFT_CMP_EQ, macBytes), verdictExpr(NFT_RETURN)], comment },
    { addRule: `${ic}-mac`, exprs: [verdictExpr(NF_DROP)], comment },
  );
  nftTransactTables([{ family: "bridge", table: "nat", ops }]);
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
