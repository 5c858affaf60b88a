/** The system layer: libc via FFI, network namespaces, sysctl. */
export { ErrnoError, errnoName } from "./libc.ts";
export * from "./netns.ts";
export * from "./sysctl.ts";
