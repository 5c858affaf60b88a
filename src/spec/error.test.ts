import { expect, test } from "bun:test";
import { CniError, ErrorCode, errorMessage } from "./error.ts";
import { marshalIndent } from "./json.ts";

test("the codes of the spec, and 8 of the reference library", () => {
  expect(ErrorCode).toEqual({
    IncompatibleCNIVersion: 1,
    UnsupportedField: 2,
    UnknownContainer: 3,
    InvalidEnvironmentVariables: 4,
    IOFailure: 5,
    DecodingFailure: 6,
    InvalidNetworkConfig: 7,
    InvalidNetNS: 8,
    TryAgainLater: 11,
    PluginNotAvailable: 50,
    LimitedConnectivity: 51,
    Internal: 999,
  });
});

test("toJSON is the spec's object; details only when there are some", () => {
  const e = new CniError(7, "Invalid Configuration", { details: "Network 192.168.0.0/31 too small to allocate from.", cniVersion: "1.1.0" });
  expect(JSON.parse(JSON.stringify(e))).toEqual({ cniVersion: "1.1.0", code: 7, msg: "Invalid Configuration", details: "Network 192.168.0.0/31 too small to allocate from." });
  expect(marshalIndent(new CniError(11, "busy", { cniVersion: "1.0.0" }))).toBe('{\n    "cniVersion": "1.0.0",\n    "code": 11,\n    "msg": "busy"\n}');
});

test("fromJSON rebuilds what a plugin printed", () => {
  const e = CniError.fromJSON({ cniVersion: "0.4.0", code: 3, msg: "gone", details: "x" });
  expect([e.code, e.message, e.details, e.cniVersion]).toEqual([3, "gone", "x", "0.4.0"]);
  expect(() => CniError.fromJSON({ msg: "no code" })).toThrow(TypeError);
});

test("cause is kept; errorMessage reads anything", () => {
  const cause = new Error("inner");
  expect(new CniError(5, "outer", { cause }).cause).toBe(cause);
  expect([errorMessage(cause), errorMessage("s"), errorMessage(3)]).toEqual(["inner", "s", "3"]);
});
