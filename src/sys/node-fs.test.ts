import { expect, test } from "bun:test";
import { ErrnoError } from "./libc.ts";
import { viaLibc } from "./node-fs.ts";

test("viaLibc: libc's answer; on its failure node:fs's, or the failure itself when the caller keeps its code", () => {
  const enoent = () => {
    throw new ErrnoError("open", 2);
  };
  expect(
    viaLibc(
      () => 1,
      () => 2,
    ),
  ).toBe(1);
  expect(viaLibc(enoent, (fs) => typeof fs.openSync)).toBe("function");
  expect(() => viaLibc(enoent, () => 2, ["ENOENT"])).toThrow(ErrnoError);
  expect(viaLibc(enoent, () => 2, ["EEXIST"])).toBe(2);
  // Not a system call's failure: no second try.
  expect(() =>
    viaLibc(
      () => {
        throw new TypeError("bug");
      },
      () => 2,
    ),
  ).toThrow(TypeError);
});
