/** Policy routing rule constants of <linux/fib_rules.h>, with their kernel names. */

// Rule attributes.
export const FRA_DST = 1;
export const FRA_SRC = 2;
export const FRA_IIFNAME = 3;
export const FRA_PRIORITY = 6;
export const FRA_FWMARK = 10;
export const FRA_TABLE = 15;
export const FRA_FWMASK = 16;
export const FRA_OIFNAME = 17;

// fib_rule_hdr.action.
export const FR_ACT_TO_TBL = 1;

// fib_rule_hdr.flags.
export const FIB_RULE_INVERT = 0x2;
