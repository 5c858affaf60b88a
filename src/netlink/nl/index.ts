/** The rtnetlink codec: kernel structs and constants, pure encode/decode over Uint8Array. */
export * from "./netlink-consts.ts";
export * from "./rtnetlink-consts.ts";
export * from "./link-consts.ts";
export * from "./addr-consts.ts";
export * from "./neigh-consts.ts";
export * from "./rule-consts.ts";
export * from "./nlmsghdr.ts";
export * from "./rtattr.ts";
export * from "./nlmsgerr.ts";
export * from "./ifinfomsg.ts";
export * from "./ifaddrmsg.ts";
export * from "./rtmsg.ts";
export * from "./ndmsg.ts";
export * from "./fib-rule-hdr.ts";
