/**
 * The writing half of a gob stream: assigns ids to our types, sends each type's
 * definition once before the first value that needs it, and encodes values by schema.
 * Ids and the order of definitions follow Go's encoder (a struct takes its id before
 * its fields, a slice after its element; a definition goes out before those of the
 * types it names), so a stream is byte-for-byte what Go writes for the same types.
 */
import { putInt, putUint } from "./_varint.ts";
import { BASIC_IDS, FIRST_USER_ID, GobError, type GobStruct, type GobType } from "./types.ts";

/** wireType's fields: which kind of type a definition describes. */
const WIRE_SLICE = 1;
const WIRE_STRUCT = 2;

/** Encodes values of one stream (one connection); keep one per connection. */
export class GobEncoder {
  #ids = new Map<GobType, number>();
  #sent = new Set<GobType>();
  #next = FIRST_USER_ID;

  /** The messages that send `value` as `type`: definitions not sent yet, then the value. */
  encode(type: GobStruct, value: Record<string, unknown>): Uint8Array {
    this.#assign(type);
    const messages: number[][] = [];
    this.#define(type, messages);
    const body: number[] = [];
    putInt(body, this.#ids.get(type)!);
    encodeStruct(body, type, value);
    messages.push(body);
    const out: number[] = [];
    for (const m of messages) {
      putUint(out, m.length);
      for (const b of m) out.push(b);
    }
    return new Uint8Array(out);
  }

  #id(t: GobType): number {
    return typeof t === "string" ? BASIC_IDS[t] : this.#ids.get(t)!;
  }

  #assign(t: GobType): void {
    if (typeof t === "string" || this.#ids.has(t)) return;
    if (t.kind === "struct") {
      this.#ids.set(t, this.#next++);
      for (const f of t.fields) this.#assign(f.type);
    } else {
      this.#assign(t.elem);
      this.#ids.set(t, this.#next++);
    }
  }

  #define(t: GobType, messages: number[][]): void {
    if (typeof t === "string" || this.#sent.has(t)) return;
    this.#sent.add(t);
    const m: number[] = [];
    putInt(m, -this.#id(t));
    // A wireType value: one field set (SliceT or StructT), starting with its CommonType.
    putUint(m, (t.kind === "slice" ? WIRE_SLICE : WIRE_STRUCT) + 1);
    putUint(m, 1);
    if (t.name) {
      putUint(m, 1);
      putString(m, t.name);
      putUint(m, 1);
    } else {
      putUint(m, 2);
    }
    putInt(m, this.#id(t));
    m.push(0);
    if (t.kind === "slice") {
      putUint(m, 1);
      putInt(m, this.#id(t.elem));
    } else if (t.fields.length) {
      putUint(m, 1);
      putUint(m, t.fields.length);
      for (const f of t.fields) {
        putUint(m, 1);
        putString(m, f.name);
        putUint(m, 1);
        putInt(m, this.#id(f.type));
        m.push(0);
      }
    }
    m.push(0, 0);
    messages.push(m);
    if (t.kind === "slice") this.#define(t.elem, messages);
    else for (const f of t.fields) this.#define(f.type, messages);
  }
}

function putString(out: number[], s: string | Uint8Array): void {
  const b = typeof s === "string" ? new TextEncoder().encode(s) : s;
  putUint(out, b.length);
  for (const x of b) out.push(x);
}

/** True when gob leaves a field out: the zero value of a basic type, an empty slice. */
function isZero(t: GobType, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof t !== "string") return t.kind === "slice" && (v as unknown[]).length === 0;
  switch (t) {
    case "bool":
      return v === false;
    case "bytes":
    case "string":
      return (v as { length: number }).length === 0;
    default:
      return v === 0;
  }
}

function encodeStruct(out: number[], t: GobStruct, value: Record<string, unknown>): void {
  let last = -1;
  t.fields.forEach((f, i) => {
    const v = value[f.name];
    // Struct-typed fields go out even when zero, as Go's encoder sends them.
    if (isZero(f.type, v) && !(typeof f.type !== "string" && f.type.kind === "struct")) return;
    putUint(out, i - last);
    last = i;
    encodeValue(out, f.type, v ?? {}, f.name);
  });
  out.push(0);
}

function encodeValue(out: number[], t: GobType, v: unknown, what: string): void {
  if (typeof t !== "string") {
    if (t.kind === "struct") return encodeStruct(out, t, v as Record<string, unknown>);
    const items = v as unknown[];
    putUint(out, items.length);
    for (const item of items) encodeValue(out, t.elem, item, what);
    return;
  }
  switch (t) {
    case "bool":
      return putUint(out, v ? 1 : 0);
    case "int":
      return putInt(out, v as number);
    case "uint":
      return putUint(out, v as number);
    case "string":
      if (typeof v !== "string") throw new GobError(`Cannot encode field ${what}: ${typeof v} is not a string`);
      return putString(out, v);
    case "bytes":
      if (!(v instanceof Uint8Array)) throw new GobError(`Cannot encode field ${what}: not a Uint8Array`);
      return putString(out, v);
    case "float":
      throw new GobError(`Cannot encode field ${what}: float is not supported`);
  }
}
