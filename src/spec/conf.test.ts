import { describe, expect, test } from "bun:test";
import { confListFromConf, decodeJSON, parseBoolField, parseNetConf, parseNetConfList } from "./conf.ts";
import { ErrorCode } from "./error.ts";
import { ALL_VERSIONS } from "./version.ts";

const code = (c: number) => expect.objectContaining({ code: c });
const plugin = { type: "bridge", bridge: "cni0", ipam: { type: "host-local", subnet: "10.1.0.0/16" } };

describe("decodeJSON", () => {
  test("bad JSON is code 6", () => {
    expect(() => decodeJSON("{", "config list")).toThrow(code(ErrorCode.DecodingFailure));
    expect(() => decodeJSON(new TextEncoder().encode("nope"))).toThrow(code(6));
    expect(decodeJSON(new TextEncoder().encode('{"a":1}'))).toEqual({ a: 1 });
  });
});

describe("parseBoolField (libcni's readBool)", () => {
  test.each([
    [true, true],
    [false, false],
    ["true", true],
    ["TRUE", true],
    ["False", false],
    [undefined, false],
  ])("%p -> %p", (v, want) => expect(parseBoolField({ f: v }, "f")).toBe(want));

  test.each(["yes", "1", 1, null, {}])("%p is code 7", (v) => expect(() => parseBoolField({ f: v }, "f")).toThrow(code(7)));
});

describe("parseNetConf", () => {
  for (const v of ALL_VERSIONS) {
    test(`at ${v}: unknown fields pass through untouched`, () => {
      const raw = { cniVersion: v, name: "n", ...plugin, nested: { deep: [1, { x: null }] }, "cni.dev/x": true };
      expect(parseNetConf(raw)).toEqual(raw);
    });
  }

  test("missing cniVersion and name read as 0.1.0 and empty", () => {
    expect(parseNetConf({ type: "t" })).toEqual({ type: "t", cniVersion: "0.1.0", name: "" });
  });

  test.each([
    [{ name: "n" }, 'missing "type"'],
    [{ type: "" }, 'missing "type"'],
    [{ type: 5 }, '"type" must be a string'],
    [{ type: "t", cniVersion: 1 }, '"cniVersion" must be a string'],
    [{ type: "t", cniVersion: "one" }, 'failed to convert major version part "one"'],
    [{ type: "t", name: 1 }, '"name" must be a string'],
    [{ type: "t", capabilities: { portMappings: "yes" } }, '"capabilities" must be an object of booleans'],
    [{ type: "t", ipam: "host-local" }, '"ipam" must be an object'],
    [{ type: "t", dns: [] }, '"dns" must be an object'],
    [[], "not a JSON object"],
  ])("%p is code 7", (raw, msg) => {
    expect(() => parseNetConf(raw)).toThrow(code(7));
    expect(() => parseNetConf(raw)).toThrow(msg);
  });
});

describe("parseNetConfList", () => {
  const list = { cniVersion: "1.0.0", name: "dbnet", plugins: [plugin, { type: "portmap", capabilities: { portMappings: true } }] };

  test("types the list and keeps unknown fields", () => {
    const out = parseNetConfList({ ...list, custom: { a: 1 } });
    expect(out).toMatchObject({ cniVersion: "1.0.0", name: "dbnet", custom: { a: 1 }, disableCheck: false, disableGC: false, loadOnlyInlinedPlugins: false });
    expect(out.plugins.map((p) => p.type)).toEqual(["bridge", "portmap"]);
    expect(out.plugins[0]).toMatchObject({ bridge: "cni0" });
  });

  test("booleans also as strings", () => {
    const out = parseNetConfList({ ...list, disableCheck: "true", disableGC: "FALSE", loadOnlyInlinedPlugins: true });
    expect([out.disableCheck, out.disableGC, out.loadOnlyInlinedPlugins]).toEqual([true, false, true]);
    expect(() => parseNetConfList({ ...list, disableCheck: "maybe" })).toThrow(code(7));
  });

  test("cniVersions picks the highest version not above 1.1.0", () => {
    expect(parseNetConfList({ ...list, cniVersions: ["0.3.1", "1.0.0", "1.1.0", "1.2.0"] }).cniVersion).toBe("1.1.0");
    expect(parseNetConfList({ ...list, cniVersion: "0.4.0", cniVersions: ["0.3.1"] }).cniVersion).toBe("0.4.0");
    expect(parseNetConfList({ name: "x", plugins: [plugin] }).cniVersion).toBe("0.1.0");
    expect(() => parseNetConfList({ ...list, cniVersions: "1.0.0" })).toThrow(code(7));
    expect(() => parseNetConfList({ ...list, cniVersions: [1] })).toThrow(code(7));
  });

  test.each([
    [{ plugins: [plugin] }, 'missing "name"'],
    [{ name: "", plugins: [plugin] }, 'missing "name"'],
    [{ name: 3, plugins: [plugin] }, '"name" must be a string'],
    [{ name: "n" }, 'missing "plugins"'],
    [{ name: "n", plugins: {} }, '"plugins" must be an array'],
    [{ name: "n", plugins: [] }, "no plugins in list"],
    [{ name: "n", plugins: [{ name: "x" }] }, 'plugin 0 of "n": missing "type"'],
    [{ name: "n", cniVersion: 1, plugins: [plugin] }, '"cniVersion" must be a string'],
  ])("%p is code 7", (raw, msg) => {
    expect(() => parseNetConfList(raw)).toThrow(code(7));
    expect(() => parseNetConfList(raw)).toThrow(msg);
  });

  test("plugins may be left to the sibling folder when the caller says so (SPEC 1.1)", () => {
    expect(parseNetConfList({ name: "n" }, "list", { allowMissingPlugins: true }).plugins).toEqual([]);
    expect(() => parseNetConfList({ name: "n", loadOnlyInlinedPlugins: true }, "list", { allowMissingPlugins: true })).toThrow(code(7));
  });

  test("confListFromConf wraps one config", () => {
    const conf = parseNetConf({ cniVersion: "0.4.0", name: "n", type: "t" });
    expect(confListFromConf(conf)).toEqual({ cniVersion: "0.4.0", name: "n", plugins: [conf] });
  });
});
