/** Neighbour and FDB constants of <linux/neighbour.h>, with their kernel names. */

// Neighbour attributes.
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NDA_VLAN = 5;
export const NDA_PORT = 6;
export const NDA_VNI = 7;
export const NDA_MASTER = 9;

// ndm_flags.
export const NTF_SELF = 0x2;
export const NTF_MASTER = 0x4;

// ndm_state.
export const NUD_REACHABLE = 0x2;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
