/** Address constants of <linux/if_addr.h>, with their kernel names. */

// Address attributes.
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_CACHEINFO = 6;
export const IFA_FLAGS = 8;
export const IFA_RT_PRIORITY = 9;

// ifa_flags (the low 8 bits) and IFA_FLAGS (all 32).
export const IFA_F_NODAD = 0x2;
export const IFA_F_DADFAILED = 0x8;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;
export const IFA_F_NOPREFIXROUTE = 0x200;
