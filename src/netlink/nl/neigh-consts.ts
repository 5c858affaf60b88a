/** Neighbour and FDB constants of <linux/neighbour.h>, with their kernel names. */

// Neighbour attributes.
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NDA_CACHEINFO = 3;
export const NDA_PROBES = 4;
export const NDA_VLAN = 5;
export const NDA_PORT = 6;
export const NDA_VNI = 7;
export const NDA_IFINDEX = 8;
export const NDA_MASTER = 9;
export const NDA_LINK_NETNSID = 10;
export const NDA_SRC_VNI = 11;
export const NDA_PROTOCOL = 12;
export const NDA_FLAGS_EXT = 15;

// ndm_flags.
export const NTF_USE = 0x1;
export const NTF_SELF = 0x2;
export const NTF_MASTER = 0x4;
export const NTF_PROXY = 0x8;
export const NTF_EXT_LEARNED = 0x10;
export const NTF_OFFLOADED = 0x20;
export const NTF_STICKY = 0x40;
export const NTF_ROUTER = 0x80;

// ndm_state.
export const NUD_INCOMPLETE = 0x1;
export const NUD_REACHABLE = 0x2;
export const NUD_STALE = 0x4;
export const NUD_DELAY = 0x8;
export const NUD_PROBE = 0x10;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
export const NUD_NONE = 0x0;
