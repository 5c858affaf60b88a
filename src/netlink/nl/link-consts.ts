/** Link constants of <linux/if.h>, <linux/if_arp.h>, <linux/if_link.h> and <linux/veth.h>, with their kernel names. */

// ifi_flags.
export const IFF_UP = 0x1;
export const IFF_PROMISC = 0x100;
export const IFF_ALLMULTI = 0x200;

// Sizes.
export const IFNAMSIZ = 16;

// ifi_type.
export const ARPHRD_ETHER = 1;

// Link attributes.
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_PROTINFO = 12;
export const IFLA_TXQLEN = 13;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_IFALIAS = 20;
export const IFLA_AF_SPEC = 26;
// IFLA_AF_SPEC members for AF_INET (IFLA_INET_CONF: one u32 attribute per IPV4_DEVCONF_*).
export const IFLA_INET_CONF = 1;
export const IPV4_DEVCONF_ARP_NOTIFY = 22;
export const IPV4_DEVCONF_ROUTE_LOCALNET = 26;
// IFLA_AF_SPEC members for AF_INET6 (IFLA_INET6_CONF: an s32 array indexed by DEVCONF_*, read only).
export const IFLA_INET6_CONF = 2;
export const DEVCONF_ACCEPT_RA = 3;
export const DEVCONF_DISABLE_IPV6 = 26;
export const IFLA_NET_NS_FD = 28;
export const IFLA_EXT_MASK = 29;
export const IFLA_PROMISCUITY = 30;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_NEW_NETNSID = 45;

// IFLA_LINKINFO members.
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;

// veth: IFLA_INFO_DATA members.
export const VETH_INFO_PEER = 1;

// bridge: IFLA_INFO_DATA members.
export const IFLA_BR_STP_STATE = 5;
export const IFLA_BR_VLAN_FILTERING = 7;
export const IFLA_BR_VLAN_PROTOCOL = 8;

// bridge port: IFLA_PROTINFO / IFLA_INFO_SLAVE_DATA members.
export const IFLA_BRPORT_MODE = 4;
export const IFLA_BRPORT_LEARNING = 8;
export const IFLA_BRPORT_UNICAST_FLOOD = 9;
export const IFLA_BRPORT_ISOLATED = 33;

// macvlan: IFLA_INFO_DATA members and modes.
export const IFLA_MACVLAN_MODE = 1;
/** Length of the queue of broadcast/multicast frames waiting for delivery (kernel 5.11+). */
export const IFLA_MACVLAN_BC_QUEUE_LEN = 7;
export const MACVLAN_MODE_PRIVATE = 0x1;
export const MACVLAN_MODE_VEPA = 0x2;
export const MACVLAN_MODE_BRIDGE = 0x4;
export const MACVLAN_MODE_PASSTHRU = 0x8;
export const MACVLAN_MODE_SOURCE = 0x10;

// vxlan: IFLA_INFO_DATA members.
export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_GROUP = 2;
export const IFLA_VXLAN_LINK = 3;
export const IFLA_VXLAN_LOCAL = 4;
export const IFLA_VXLAN_TTL = 5;
export const IFLA_VXLAN_TOS = 6;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_AGEING = 8;
export const IFLA_VXLAN_L2MISS = 13;
export const IFLA_VXLAN_L3MISS = 14;
export const IFLA_VXLAN_PORT = 15;
export const IFLA_VXLAN_GROUP6 = 16;
export const IFLA_VXLAN_LOCAL6 = 17;
export const IFLA_VXLAN_GBP = 23;

/** IFLA_IPTUN_* (linux/if_tunnel.h): the data of ipip and sit links. */
export const IFLA_IPTUN_LINK = 1;
export const IFLA_IPTUN_LOCAL = 2;
export const IFLA_IPTUN_REMOTE = 3;
export const IFLA_IPTUN_TTL = 4;
export const IFLA_IPTUN_PMTUDISC = 10;
export const IFLA_VXLAN_COLLECT_METADATA = 25;
export const IFLA_VXLAN_DF = 29;

// ipvlan: IFLA_INFO_DATA members, modes and flags.
export const IFLA_IPVLAN_MODE = 1;
export const IFLA_IPVLAN_FLAGS = 2;
export const IPVLAN_MODE_L2 = 0;
export const IPVLAN_MODE_L3 = 1;
export const IPVLAN_MODE_L3S = 2;
export const IPVLAN_F_PRIVATE = 0x01;
export const IPVLAN_F_VEPA = 0x02;

// vlan: IFLA_INFO_DATA members.
export const IFLA_VLAN_ID = 1;
export const IFLA_VLAN_PROTOCOL = 5;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;

// vrf: IFLA_INFO_DATA members.
export const IFLA_VRF_TABLE = 1;

// tun/tap: IFLA_INFO_DATA members (read only: devices are made through /dev/net/tun).
export const IFLA_TUN_OWNER = 1;
export const IFLA_TUN_GROUP = 2;
export const IFLA_TUN_TYPE = 3;
export const IFLA_TUN_PI = 4;
export const IFLA_TUN_VNET_HDR = 5;
export const IFLA_TUN_PERSIST = 6;
export const IFLA_TUN_MULTI_QUEUE = 7;
