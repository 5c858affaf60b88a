import { describe, expect, test } from "bun:test";
import { validateContainerID, validateInterfaceName, validateNetworkName, validatePluginType } from "./validate.ts";

function err(fn: () => void) {
  try {
    fn();
  } catch (e) {
    return JSON.parse(JSON.stringify(e));
  }
  return undefined;
}

describe("container id (reference pkg/utils)", () => {
  test.each(["a", "0abc", "abc_def.ghi-jkl", "A".repeat(200)])("%p is valid", (id) => expect(err(() => validateContainerID(id))).toBeUndefined());
  test("empty is code 3", () => expect(err(() => validateContainerID(""))).toMatchObject({ code: 3, msg: "missing containerID" }));
  test.each(["-a", "_a", ".a", "a b", "a/b", "a:b", "ä"])("%p is code 4 with the id as details", (id) => {
    expect(err(() => validateContainerID(id))).toEqual({ cniVersion: "", code: 4, msg: "invalid characters in containerID", details: id });
  });
});

describe("interface name", () => {
  test.each(["eth0", "a", "x".repeat(15), "net1.100", "é".repeat(7)])("%p is valid", (n) => expect(err(() => validateInterfaceName(n))).toBeUndefined());
  test.each([
    ["", "interface name is empty", undefined],
    ["x".repeat(16), "interface name is too long", "interface name should be less than 16 characters"],
    ["é".repeat(8), "interface name is too long", "interface name should be less than 16 characters"],
    [".", "interface name is . or ..", undefined],
    ["..", "interface name is . or ..", undefined],
    ["a/b", "interface name contains / or : or whitespace characters", undefined],
    ["a:b", "interface name contains / or : or whitespace characters", undefined],
    ["a\tb", "interface name contains / or : or whitespace characters", undefined],
    ["a\u0085b", "interface name contains / or : or whitespace characters", undefined],
    ["a\u3000b", "interface name contains / or : or whitespace characters", undefined],
  ])("%p: %s", (n, msg, details) => {
    expect(err(() => validateInterfaceName(n))).toEqual({ cniVersion: "", code: 4, msg, ...(details ? { details } : {}) });
  });
  // Go's unicode.IsSpace does not count the BOM; JavaScript's \s does.
  test("U+FEFF is not white space for the reference", () => expect(err(() => validateInterfaceName("a\ufeffb"))).toBeUndefined());
});

describe("network name and plugin type", () => {
  test("network name", () => {
    expect(err(() => validateNetworkName("net-1.a_b"))).toBeUndefined();
    expect(err(() => validateNetworkName(""))).toMatchObject({ code: 7, msg: "missing network name" });
    expect(err(() => validateNetworkName("a/b"))).toMatchObject({ code: 7, msg: "invalid characters found in network name", details: "a/b" });
  });
  test.each(["", "a/b", "..", ".", "a\\b"])("plugin type %p is code 7", (t) => expect(err(() => validatePluginType(t))).toMatchObject({ code: 7 }));
  test("plugin type bridge is fine", () => expect(err(() => validatePluginType("bridge"))).toBeUndefined());
});

describe("the char loops against the reference's regexes and TextEncoder", () => {
  const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;
  const SLASH_COLON_OR_SPACE = /[\/:\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
  const fails = (fn: () => void) => err(fn) !== undefined;
  // Every unit up to U+3100 (past the last white space Go knows), surrogates, the BOM and the last ones.
  const units = [...Array(0x3100).keys(), 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xfeff, 0xfffe, 0xffff];
  test("each of those units, first and later in a container id and a network name, and in an interface name", () => {
    const mismatches: string[] = [];
    for (const c of units) {
      const ch = String.fromCharCode(c);
      for (const id of [`${ch}a`, `a${ch}`]) {
        if (fails(() => validateContainerID(id)) !== !NAME.test(id)) mismatches.push(`containerID ${JSON.stringify(id)}`);
        if (fails(() => validateNetworkName(id)) !== !NAME.test(id)) mismatches.push(`network ${JSON.stringify(id)}`);
      }
      const ifName = `a${ch}b`;
      if (fails(() => validateInterfaceName(ifName)) !== SLASH_COLON_OR_SPACE.test(ifName)) mismatches.push(`ifName ${JSON.stringify(ifName)}`);
    }
    expect(mismatches).toEqual([]);
  });
  test.each([
    "😀".repeat(3),
    "😀".repeat(4),
    "\ud800".repeat(5),
    "\ud800".repeat(6),
    "\udc00a\ud800",
    "a\ud83d\ude00b".repeat(2),
    "é".repeat(7) + "x",
    "€".repeat(5),
    "€".repeat(5) + "x",
  ])("%p is too long exactly when TextEncoder makes it over 15 bytes", (n) =>
    expect(err(() => validateInterfaceName(n))?.msg === "interface name is too long").toBe(new TextEncoder().encode(n).length > 15),
  );
});
