/**
 * The compiled binary's code segment lies in the file where 2 MiB pages can map it
 * (scripts/align-text.ts, run by `npm run build`): its file offset and its address agree
 * modulo 2 MiB. And the padding that gets it there keeps every address and every byte.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { alignText } from "../scripts/align-text.ts";
import { ensureBuilt } from "./helpers/dist.ts";

const PMD = 0x200000n;

/** The PT_LOAD segments of an ELF64 file: flags, file offset, address, size in the file. */
function loads(elf: Uint8Array) {
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const phoff = Number(v.getBigUint64(0x20, true));
  const out = [];
  for (let i = 0; i < v.getUint16(0x38, true); i++) {
    const at = phoff + i * v.getUint16(0x36, true);
    if (v.getUint32(at, true) !== 1) continue;
    out.push({
      flags: v.getUint32(at + 4, true),
      offset: v.getBigUint64(at + 8, true),
      vaddr: v.getBigUint64(at + 16, true),
      size: v.getBigUint64(at + 32, true),
    });
  }
  return out;
}

/** A small ELF64 executable: a header, PT_PHDR, a read-only and an executable PT_LOAD, two section headers after them. */
function tinyElf(codeVaddr: bigint): Uint8Array {
  const b = new Uint8Array(0x3000);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(0x10, 2, true);
  v.setBigUint64(0x20, 0x40n, true); // program headers
  v.setBigUint64(0x28, 0x2800n, true); // section headers
  v.setUint16(0x36, 56, true);
  v.setUint16(0x38, 3, true);
  v.setUint16(0x3a, 64, true);
  v.setUint16(0x3c, 2, true);
  const ph = (i: number, type: number, flags: number, offset: bigint, vaddr: bigint, size: bigint) => {
    const at = 0x40 + i * 56;
    v.setUint32(at, type, true);
    v.setUint32(at + 4, flags, true);
    v.setBigUint64(at + 8, offset, true);
    v.setBigUint64(at + 16, vaddr, true);
    v.setBigUint64(at + 32, size, true);
  };
  ph(0, 6, 4, 0x40n, 0x200040n, 168n);
  ph(1, 1, 4, 0n, 0x200000n, 0x1000n);
  ph(2, 1, 5, 0x1000n, codeVaddr, 0x1000n);
  v.setUint32(0x2800 + 64 + 4, 1, true); // section 1: PROGBITS at the code
  v.setBigUint64(0x2800 + 64 + 0x18, 0x1000n, true);
  b.fill(0xab, 0x200, 0x1000);
  b.fill(0xcc, 0x1000, 0x2000);
  return b;
}

describe("the binary's layout", () => {
  test("dist/cni-ts: the code segment's file offset agrees with its address modulo 2 MiB", () => {
    const code = loads(readFileSync(ensureBuilt())).filter((l) => l.flags & 1);
    expect(code).toHaveLength(1);
    expect((code[0]!.vaddr - code[0]!.offset) % PMD).toBe(0n);
  });

  test("alignText pads before the code segment, moves the offsets after it and keeps every byte; an aligned file is left as it is", () => {
    const elf = tinyElf(0x209000n);
    const out = alignText(elf);
    const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const [ro, code] = loads(out);
    expect(ro!.offset).toBe(0n);
    expect((code!.vaddr - code!.offset) % PMD).toBe(0n);
    expect(code!.offset).toBe(0x1000n + 0x8000n);
    // The PT_PHDR entry and everything before the cut stay where they were.
    expect(v.getBigUint64(0x40 + 8, true)).toBe(0x40n);
    expect(out.subarray(0x200, 0x1000).every((x) => x === 0xab)).toBe(true);
    expect(out.subarray(0x9000, 0xa000).every((x) => x === 0xcc)).toBe(true);
    // Section headers moved with the file, and their offsets too.
    const shoff = Number(v.getBigUint64(0x28, true));
    expect(shoff).toBe(0x2800 + 0x8000);
    expect(v.getBigUint64(shoff + 64 + 0x18, true)).toBe(0x9000n);
    expect(alignText(out)).toBe(out);
    expect(() => alignText(new Uint8Array(64))).toThrow("not a little-endian ELF64 file");
  });
});
