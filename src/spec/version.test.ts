import { describe, expect, test } from "bun:test";
import { ErrorCode } from "./error.ts";
import { ALL_VERSIONS, compareVersions, CURRENT_VERSION, greaterThan, isSupported, negotiateListVersion, parseVersion, versionInfo } from "./version.ts";

describe("parseVersion (the reference's ParseVersion)", () => {
  test.each([
    ["1.1.0", [1, 1, 0]],
    ["1.0", [1, 0, 0]],
    ["1", [1, 0, 0]],
    ["", [0, 1, 0]],
    ["0.3.1", [0, 3, 1]],
    ["+1.2.3", [1, 2, 3]],
    ["10.20.30", [10, 20, 30]],
  ] as const)("%p", (v, want) => expect(parseVersion(v)).toEqual([...want]));

  test.each(["1.2.3.4", "1.x", "1.", "a", "1..0", " 1"])("%p is code 7", (v) => {
    expect(() => parseVersion(v)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidNetworkConfig }));
  });
});

describe("comparison", () => {
  test("orders every spec version", () => {
    for (let i = 1; i < ALL_VERSIONS.length; i++) {
      expect(compareVersions(ALL_VERSIONS[i]!, ALL_VERSIONS[i - 1]!)).toBeGreaterThan(0);
      expect(greaterThan(ALL_VERSIONS[i - 1]!, ALL_VERSIONS[i]!)).toBe(false);
    }
    expect(compareVersions("1.0", "1.0.0")).toBe(0);
    expect(compareVersions("0.10.0", "0.9.0")).toBeGreaterThan(0);
  });

  test("isSupported normalises short forms", () => {
    for (const v of ALL_VERSIONS) expect(isSupported(v)).toBe(true);
    expect(isSupported("1.0")).toBe(true);
    expect(isSupported("1.2.0")).toBe(false);
    expect(isSupported("junk")).toBe(false);
  });
});

describe("negotiateListVersion (cniVersions: the highest not above 1.1.0)", () => {
  test.each([
    [undefined, ["0.3.1", "0.4.0", "1.0.0", "1.1.0"], "1.1.0"],
    [undefined, ["1.1.0", "0.4.0", "1.0.0"], "1.1.0"],
    [undefined, ["0.4.0", "1.0.0", "1.1.0", "1.2.0", "2.0.0"], "1.1.0"],
    ["1.0.0", ["0.4.0"], "1.0.0"],
    ["0.3.1", ["1.0.0"], "1.0.0"],
    ["1.2.0", ["0.4.0"], "0.4.0"],
    ["1.2.0", ["2.0.0"], "1.2.0"],
    ["1.2.0", undefined, "1.2.0"],
    ["0.4.0", [], "0.4.0"],
    [undefined, ["9.0.0"], ""],
    [undefined, undefined, ""],
    ["1.0.0", ["1.0", "0.4.0"], "1.0.0"],
  ] as const)("cniVersion %p, cniVersions %p -> %p", (v, vs, want) => {
    expect(negotiateListVersion(v, vs)).toBe(want);
  });

  test("a cniVersions entry that is not a version is code 7", () => {
    expect(() => negotiateListVersion("1.0.0", ["1.0.0", "x"])).toThrow(expect.objectContaining({ code: 7 }));
  });

  test("the newest implemented version is 1.1.0", () => expect(CURRENT_VERSION).toBe("1.1.0"));
});

test("versionInfo is the VERSION answer", () => {
  expect(versionInfo(["0.4.0", "1.0.0"])).toEqual({ cniVersion: "1.1.0", supportedVersions: ["0.4.0", "1.0.0"] });
});
