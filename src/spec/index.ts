/** The CNI spec core: types, versions, results, errors, CNI_ARGS and capabilities. Pure, no I/O. */
export * from "./error.ts";
export * from "./version.ts";
export type * from "./types.ts";
export * from "./result.ts";
export * from "./conf.ts";
export * from "./args.ts";
export * from "./capabilities.ts";
export * from "./ip.ts";
export * from "./validate.ts";
