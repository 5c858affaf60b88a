/** Constants of <linux/rtnetlink.h>, with their kernel names. */

// Message types.
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;
export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;
export const RTM_GETRULE = 34;
export const RTM_NEWNETCONF = 80;
export const RTM_GETNETCONF = 82;
// RTM_*NETCONF attributes (linux/netconf.h).
export const NETCONFA_IFINDEX = 1;
export const NETCONFA_FORWARDING = 2;
export const NETCONFA_IFINDEX_ALL = -1;

// rtm_type.
export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_ANYCAST = 4;
export const RTN_MULTICAST = 5;
export const RTN_NAT = 10;

// rtm_protocol.
export const RTPROT_UNSPEC = 0;
export const RTPROT_BOOT = 3;

// rtm_scope.
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;

// rtm_table.
export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_DEFAULT = 253;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

// Route attributes.
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_METRICS = 8;
export const RTA_MULTIPATH = 9;
export const RTA_TABLE = 15;

// RTA_METRICS members.
export const RTAX_MTU = 2;
export const RTAX_ADVMSS = 8;

// rtnh_flags / rtm_flags.
export const RTNH_F_ONLINK = 0x4;
export const RTM_F_CLONED = 0x200;

// IFLA_EXT_MASK values.
export const RTEXT_FILTER_VF = 0x1;
export const RTEXT_FILTER_BRVLAN = 0x2;
export const RTEXT_FILTER_SKIP_STATS = 0x8;
