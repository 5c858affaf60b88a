/**
 * The reading half of a gob stream: takes bytes as they arrive, learns the types the
 * other side defines (in any order: Go may name a type before defining it in the same
 * sequence) and turns each value into plain JS data, structs as objects keyed by field
 * name. Interfaces are refused; nothing the dhcp RPC sends uses them.
 */
import { Reader, peekUint } from "./_varint.ts";
import { GobError, INTERFACE_ID, WIRE_TYPE_ID, type GobValue } from "./types.ts";

/** What a definition received from the other side describes. */
type WireType =
  | { kind: "struct"; name: string; fields: { name: string; id: number }[] }
  | { kind: "slice"; name: string; elem: number }
  | { kind: "array"; name: string; elem: number; len: number }
  | { kind: "map"; name: string; key: number; elem: number }
  | { kind: "opaque"; name: string };

/** One decoded value with the id of its type. */
export interface Decoded {
  typeId: number;
  typeName: string;
  value: GobValue;
}

/** Largest message accepted: a dhcp request carries a config of a few kilobytes. */
const MAX_MESSAGE = 16 << 20;

/** Decodes the values of one stream (one connection). */
export class GobDecoder {
  #types = new Map<number, WireType>();
  #pending: Uint8Array = new Uint8Array(0);

  /** Adds received bytes and returns every value now complete. */
  push(chunk: Uint8Array): Decoded[] {
    this.#pending = this.#pending.length ? concat(this.#pending, chunk) : chunk.slice();
    const out: Decoded[] = [];
    for (;;) {
      const len = peekUint(this.#pending);
      if (!len) break;
      if (len.value > MAX_MESSAGE) throw new GobError(`Cannot decode gob: message of ${len.value} bytes is too large`);
      if (this.#pending.length < len.size + len.value) break;
      const msg = this.#pending.subarray(len.size, len.size + len.value);
      this.#pending = this.#pending.slice(len.size + len.value);
      const v = this.#message(msg);
      if (v) out.push(v);
    }
    return out;
  }

  #message(msg: Uint8Array): Decoded | undefined {
    const r = new Reader(msg);
    const id = r.int();
    if (id < 0) {
      this.#types.set(-id, readWireType(r));
      return undefined;
    }
    const t = this.#types.get(id);
    let value: GobValue;
    if (t?.kind === "struct") {
      value = this.#struct(r, t);
    } else {
      // A value that is not a struct is sent as a struct of one field (delta 0... then the value).
      if (r.uint() !== 0) throw new GobError(`Cannot decode gob: bad singleton value of type ${id}`);
      value = this.#value(r, id);
    }
    return { typeId: id, typeName: t?.name ?? "", value };
  }

  #struct(r: Reader, t: Extract<WireType, { kind: "struct" }>): { [field: string]: GobValue } {
    const out: { [field: string]: GobValue } = {};
    let field = -1;
    for (;;) {
      const delta = r.uint();
      if (delta === 0) return out;
      field += delta;
      const f = t.fields[field];
      if (!f) throw new GobError(`Cannot decode gob: field ${field} of ${JSON.stringify(t.name)} is not defined`);
      out[f.name] = this.#value(r, f.id);
    }
  }

  #value(r: Reader, id: number): GobValue {
    switch (id) {
      case 1:
        return r.uint() !== 0;
      case 2:
        return r.int();
      case 3:
        return r.uint();
      case 4:
        return floatFromGob(r.uint());
      case 5:
        return r.bytes(r.uint());
      case 6:
        return new TextDecoder().decode(r.bytes(r.uint()));
      case INTERFACE_ID:
        throw new GobError("Cannot decode gob: interface values are not supported");
    }
    const t = this.#types.get(id);
    if (!t) throw new GobError(`Cannot decode gob: type ${id} is not defined`);
    switch (t.kind) {
      case "struct":
        return this.#struct(r, t);
      case "slice":
      case "array": {
        const n = r.uint();
        if (t.kind === "array" && n !== t.len) throw new GobError(`Cannot decode gob: array ${JSON.stringify(t.name)} has ${n} elements, type says ${t.len}`);
        if (n > r.buf.length - r.pos) throw new RangeError(`Cannot decode gob: ${n} elements cannot fit in ${r.buf.length - r.pos} bytes`);
        const items: GobValue[] = [];
        for (let i = 0; i < n; i++) items.push(this.#value(r, t.elem));
        return items;
      }
      case "map": {
        const n = r.uint();
        const m = new Map<GobValue, GobValue>();
        for (let i = 0; i < n; i++) m.set(this.#value(r, t.key), this.#value(r, t.elem));
        return m;
      }
      case "opaque":
        // GobEncoder / BinaryMarshaler / TextMarshaler: the type's own bytes.
        return r.bytes(r.uint());
    }
  }
}

/** Reads a wireType value: exactly one of its fields is set, and says the kind. */
function readWireType(r: Reader): WireType {
  let field = -1;
  let out: WireType | undefined;
  for (;;) {
    const delta = r.uint();
    if (delta === 0) break;
    field += delta;
    out = readKind(r, field);
  }
  if (!out) throw new GobError(`Cannot decode gob: empty type definition (type ${WIRE_TYPE_ID})`);
  return out;
}

/** wireType field numbers: ArrayT, SliceT, StructT, MapT, GobEncoderT, BinaryMarshalerT, TextMarshalerT. */
const KINDS = ["array", "slice", "struct", "map", "opaque", "opaque", "opaque"] as const;

/**
 * Reads an arrayType {CommonType, Elem, Len}, sliceType {CommonType, Elem},
 * structType {CommonType, Field []fieldType}, mapType {CommonType, Key, Elem} or
 * gobEncoderType {CommonType}.
 */
function readKind(r: Reader, wireField: number): WireType {
  const kind = KINDS[wireField];
  if (!kind) throw new GobError(`Cannot decode gob: unknown wireType field ${wireField}`);
  let name = "";
  const ints: number[] = [];
  const fields: { name: string; id: number }[] = [];
  let field = -1;
  for (;;) {
    const delta = r.uint();
    if (delta === 0) break;
    field += delta;
    if (field === 0) {
      name = readCommon(r);
    } else if (kind === "struct" && field === 1) {
      const n = r.uint();
      for (let i = 0; i < n; i++) fields.push(readFieldType(r));
    } else if (kind !== "opaque" && kind !== "struct" && field <= 2) {
      ints[field] = r.int();
    } else {
      throw new GobError(`Cannot decode gob: unexpected field ${field} in a ${kind} type definition`);
    }
  }
  switch (kind) {
    case "array":
      return { kind, name, elem: ints[1] ?? 0, len: ints[2] ?? 0 };
    case "slice":
      return { kind, name, elem: ints[1] ?? 0 };
    case "map":
      return { kind, name, key: ints[1] ?? 0, elem: ints[2] ?? 0 };
    case "struct":
      return { kind, name, fields };
    case "opaque":
      return { kind, name };
  }
}

/** CommonType {Name string, Id int}: the name (the id repeats the definition's). */
function readCommon(r: Reader): string {
  let name = "";
  let field = -1;
  for (;;) {
    const delta = r.uint();
    if (delta === 0) return name;
    field += delta;
    if (field === 0) name = new TextDecoder().decode(r.bytes(r.uint()));
    else if (field === 1) r.int();
    else throw new GobError(`Cannot decode gob: unexpected field ${field} in CommonType`);
  }
}

/** fieldType {Name string, Id int}. */
function readFieldType(r: Reader): { name: string; id: number } {
  const out = { name: "", id: 0 };
  let field = -1;
  for (;;) {
    const delta = r.uint();
    if (delta === 0) return out;
    field += delta;
    if (field === 0) out.name = new TextDecoder().decode(r.bytes(r.uint()));
    else if (field === 1) out.id = r.int();
    else throw new GobError(`Cannot decode gob: unexpected field ${field} in fieldType`);
  }
}

/** A float64 arrives as its IEEE bits, byte-reversed, sent as an unsigned integer. */
function floatFromGob(u: number): number {
  const b = new Uint8Array(8);
  for (let i = 0; i < 8; i++) {
    b[i] = u % 256;
    u = Math.floor(u / 256);
  }
  return new DataView(b.buffer).getFloat64(0, false);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
