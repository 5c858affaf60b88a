/** Links as the kernel reports them: common attributes plus a discriminated union on `kind`. */

/** IFLA_OPERSTATE as iproute2 names it (RFC 2863). */
export type OperState = "unknown" | "notpresent" | "down" | "lowerlayerdown" | "testing" | "dormant" | "up";

/** What every link has (struct ifinfomsg and the IFLA_* attributes). */
export interface LinkAttrs {
  index: number;
  name: string;
  /** IFF_* bits of ifi_flags. */
  flags: number;
  mtu: number;
  /** IFLA_ADDRESS, "" when the link has none. */
  mac: string;
  /** IFLA_MASTER: ifindex of the bridge (or bond, vrf) this link is a port of. */
  master?: number;
  operstate: OperState;
  /** IFLA_IFALIAS. */
  alias?: string;
  txqlen: number;
  /** ARPHRD_* (ifi_type). */
  encapType: number;
  /** IFLA_LINK: the parent (macvlan's lower device) or the peer (veth); in `netnsid` when that is set. */
  parentIndex?: number;
  /** IFLA_LINK_NETNSID: the namespace id of parentIndex, as seen from this namespace. */
  netnsid?: number;
  /** IFLA_PROMISCUITY: how many users asked for promiscuous mode. */
  promiscuity: number;
  /** IFLA_INFO_SLAVE_KIND: the kind of `master` ("bridge"). */
  slaveKind?: string;
  /** IFLA_AF_SPEC as the kernel sent it (per-family settings), decoded on demand: see ipv6AcceptRa(). */
  afSpec?: Uint8Array;
}

/** A link with no IFLA_INFO_KIND: a physical device or lo. */
export interface Device extends LinkAttrs {
  kind: "device";
}

/** A dummy link. */
export interface Dummy extends LinkAttrs {
  kind: "dummy";
}

/** One end of a veth pair; the peer is parentIndex (in netnsid when moved away). */
export interface Veth extends LinkAttrs {
  kind: "veth";
}

/** A Linux bridge. */
export interface Bridge extends LinkAttrs {
  kind: "bridge";
  vlanFiltering?: boolean;
  /** IFLA_BR_STP_STATE != 0. */
  stp?: boolean;
  /** IFLA_BR_VLAN_PROTOCOL (0x8100 or 0x88a8): the kernel reports it only when it has bridge VLAN filtering. */
  vlanProtocol?: number;
}

/** Macvlan modes by their iproute2 names. */
export type MacvlanMode = "private" | "vepa" | "bridge" | "passthru" | "source";

/** A macvlan on the lower device parentIndex. */
export interface Macvlan extends LinkAttrs {
  kind: "macvlan";
  mode: MacvlanMode;
}

/** A VXLAN device. */
export interface Vxlan extends LinkAttrs {
  kind: "vxlan";
  vni: number;
  /** IFLA_VXLAN_LINK: the device the tunnel sends on. */
  vtepIndex?: number;
  /** IFLA_VXLAN_LOCAL / LOCAL6. */
  local?: string;
  /** IFLA_VXLAN_GROUP / GROUP6: multicast group or unicast remote. */
  group?: string;
  /** IFLA_VXLAN_PORT: the UDP destination port. */
  port?: number;
  learning: boolean;
  gbp: boolean;
  ttl?: number;
  tos?: number;
  /** FDB ageing in seconds. */
  ageing?: number;
}

/** ipvlan modes and flags by their iproute2 names. */
export type IpvlanMode = "l2" | "l3" | "l3s";
export type IpvlanFlag = "bridge" | "private" | "vepa";

/** An ipvlan on the lower device parentIndex. */
export interface Ipvlan extends LinkAttrs {
  kind: "ipvlan";
  mode: IpvlanMode;
  flag: IpvlanFlag;
}

/** An 802.1Q (or 802.1ad) VLAN on the lower device parentIndex. */
export interface Vlan extends LinkAttrs {
  kind: "vlan";
  vlanId: number;
  /** IFLA_VLAN_PROTOCOL: 0x8100 (802.1Q) or 0x88a8 (802.1ad). */
  protocol: number;
}

/** A VRF device: its ports' routes go to `table`. */
export interface Vrf extends LinkAttrs {
  kind: "vrf";
  table: number;
}

/** A tun or tap device. */
export interface Tuntap extends LinkAttrs {
  kind: "tun";
  mode: "tun" | "tap";
  /** IFLA_TUN_OWNER / GROUP: absent when any user may open it. */
  owner?: number;
  group?: number;
  multiQueue: boolean;
  vnetHdr: boolean;
  persist: boolean;
  /** Packet information header (IFF_NO_PI unset). */
  pi: boolean;
}

/** Any other kind (bond, macvtap, ...), with the kernel's kind string. */
export interface GenericLink extends LinkAttrs {
  kind: "generic";
  infoKind: string;
}

/** A link as read from the kernel. */
export type Link = Device | Dummy | Veth | Bridge | Macvlan | Vxlan | Ipvlan | Vlan | Vrf | Tuntap | GenericLink;

/** A link given by index, by name, or as an object read before. */
export type LinkRef = number | string | { index: number };
