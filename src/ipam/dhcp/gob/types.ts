/**
 * Schemas of the Go values cni-ts exchanges in gob (encoding/gob): the subset of
 * gob's type system the dhcp daemon's net/rpc messages need. Field names are what
 * gob matches on, so they are spelled as the Go structs spell them.
 */

/** A gob type: a predefined one by name, or a slice or struct described here. */
export type GobType = GobBasic | GobSlice | GobStruct;

/** gob's predefined types; "bytes" is []byte (also net.IP and net.IPMask). */
export type GobBasic = "bool" | "int" | "uint" | "float" | "bytes" | "string";

/** A slice of `elem`; `name` is what Go would call the type ("[]string"). */
export interface GobSlice {
  kind: "slice";
  name: string;
  elem: GobType;
}

/** A struct; only the fields listed are sent. */
export interface GobStruct {
  kind: "struct";
  name: string;
  fields: readonly GobField[];
}

/** A struct field, by its Go name. */
export interface GobField {
  name: string;
  type: GobType;
}

/** Type ids every gob stream knows without definition (encoding/gob doc, "Types"). */
export const BASIC_IDS: Record<GobBasic, number> = { bool: 1, int: 2, uint: 3, float: 4, bytes: 5, string: 6 };

/** Ids of the types that describe types (wireType and its parts). */
export const WIRE_TYPE_ID = 16;
export const INTERFACE_ID = 8;

/** The first id a stream may assign to a type of its own. */
export const FIRST_USER_ID = 65;

/** A decoded gob value: structs become objects keyed by field name, []byte a Uint8Array. */
export type GobValue = boolean | number | string | Uint8Array | GobValue[] | Map<GobValue, GobValue> | { [field: string]: GobValue };

/** A gob stream that cannot be decoded or a value that cannot be encoded. */
export class GobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GobError";
  }
}
