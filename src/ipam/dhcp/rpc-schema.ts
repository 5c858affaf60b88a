/**
 * The Go types the reference dhcp plugin and daemon exchange over net/rpc, as gob
 * schemas: rpc.Request/Response headers, skel.CmdArgs as the argument of every call,
 * and types100.Result as the reply of DHCP.Allocate. Field names and order follow the
 * newest Go structs; gob matches by name, so older Go peers (which lack e.g. Route.MTU)
 * still decode what we send, and we decode what they send.
 */
import type { GobSlice, GobStruct } from "./gob/types.ts";

/** net/rpc's request header. */
export const REQUEST: GobStruct = {
  kind: "struct",
  name: "Request",
  fields: [
    { name: "ServiceMethod", type: "string" },
    { name: "Seq", type: "uint" },
  ],
};

/** net/rpc's response header; Error is "" on success. */
export const RESPONSE: GobStruct = {
  kind: "struct",
  name: "Response",
  fields: [
    { name: "ServiceMethod", type: "string" },
    { name: "Seq", type: "uint" },
    { name: "Error", type: "string" },
  ],
};

/** skel.CmdArgs: what the plugin hands the daemon, its config in StdinData. */
export const CMD_ARGS: GobStruct = {
  kind: "struct",
  name: "CmdArgs",
  fields: [
    { name: "ContainerID", type: "string" },
    { name: "Netns", type: "string" },
    { name: "IfName", type: "string" },
    { name: "Args", type: "string" },
    { name: "Path", type: "string" },
    { name: "StdinData", type: "bytes" },
  ],
};

/** What net/rpc sends as the body of a failed call, and DHCP.Release's reply (struct{}). */
export const EMPTY: GobStruct = { kind: "struct", name: "", fields: [] };

/** net.IPNet: IP and Mask are both []byte on the wire. */
const IP_NET: GobStruct = {
  kind: "struct",
  name: "IPNet",
  fields: [
    { name: "IP", type: "bytes" },
    { name: "Mask", type: "bytes" },
  ],
};

const INTERFACE: GobStruct = {
  kind: "struct",
  // An element of []*T: Go names the pointed-to struct "" on the wire.
  name: "",
  fields: [
    { name: "Name", type: "string" },
    { name: "Mac", type: "string" },
    { name: "Mtu", type: "int" },
    { name: "Sandbox", type: "string" },
    { name: "SocketPath", type: "string" },
    { name: "PciID", type: "string" },
  ],
};

const IP_CONFIG: GobStruct = {
  kind: "struct",
  // An element of []*T: Go names the pointed-to struct "" on the wire.
  name: "",
  fields: [
    // *int in Go: gob flattens pointers, and a nil one is simply left out.
    { name: "Interface", type: "int" },
    { name: "Address", type: IP_NET },
    { name: "Gateway", type: "bytes" },
  ],
};

const ROUTE: GobStruct = {
  kind: "struct",
  // An element of []*T: Go names the pointed-to struct "" on the wire.
  name: "",
  fields: [
    { name: "Dst", type: IP_NET },
    { name: "GW", type: "bytes" },
    { name: "MTU", type: "int" },
    { name: "AdvMSS", type: "int" },
    { name: "Priority", type: "int" },
    { name: "Table", type: "int" },
    { name: "Scope", type: "int" },
  ],
};

const STRINGS: GobSlice = { kind: "slice", name: "[]string", elem: "string" };

const DNS: GobStruct = {
  kind: "struct",
  name: "DNS",
  fields: [
    { name: "Nameservers", type: STRINGS },
    { name: "Domain", type: "string" },
    { name: "Search", type: STRINGS },
    { name: "Options", type: STRINGS },
  ],
};

/** types100.Result, DHCP.Allocate's reply. */
export const RESULT: GobStruct = {
  kind: "struct",
  name: "Result",
  fields: [
    { name: "CNIVersion", type: "string" },
    { name: "Interfaces", type: { kind: "slice", name: "[]*types100.Interface", elem: INTERFACE } },
    { name: "IPs", type: { kind: "slice", name: "[]*types100.IPConfig", elem: IP_CONFIG } },
    { name: "Routes", type: { kind: "slice", name: "[]*types.Route", elem: ROUTE } },
    { name: "DNS", type: DNS },
  ],
};

/** skel.CmdArgs as JS data. */
export interface RpcCmdArgs {
  ContainerID: string;
  Netns: string;
  IfName: string;
  Args: string;
  Path: string;
  StdinData: Uint8Array;
}
