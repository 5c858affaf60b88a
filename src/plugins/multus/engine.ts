/**
 * The delegation engine (Multus's pkg/multus): ADD runs the master and every extra
 * network of a pod through the runtime library, records the delegate list before the
 * first one runs and undoes them in reverse when one fails; DEL undoes them from that
 * record, or from what it can rebuild when the record is gone; network-status and
 * events go through the MultusSource.
 */
export type { EngineOptions } from "./_engine-kit.ts";
export { cmdAdd } from "./cmd-add.ts";
export { cmdDel } from "./cmd-del.ts";
export { cmdCheck, cmdDelegate, cmdGC, cmdStatus, type InterfaceAttributes } from "./cmd-other.ts";
