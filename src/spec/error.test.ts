import { expect, test } from "bun:test";
import { CniError, ErrorCode, errorMessage } from "./error.ts";
import { marshalIndent } from "./json.ts";

test("the codes of the spec, and 8 of the reference library", () => {
  // The numbers are the protocol's: pinned here as the spec's table reads.
  const table = Object.entries(ErrorCode)
    .map(([name, code]) => `${code} ${name}`)
    .join(", ");
  expect(table).toBe(
    "1 IncompatibleCNIVersion, 2 UnsupportedField, 3 UnknownContainer, 4 InvalidEnvironmentVariables, 5 IOFailure, " +
      "6 DecodingFailure, 7 InvalidNetworkConfig, 8 InvalidNetNS, 11 TryAgainLater, 50 PluginNotAvailable, 51 LimitedConnectivity, 999 Internal",
  );
});

test("toJSON is the spec's object; details only when there are some", () => {
  const e = new CniError(7, "Invalid Configuration", { details: "Network 192.168.0.0/31 too small to allocate from.", cniVersion: "1.1.0" });
  expect(JSON.parse(JSON.stringify(e))).toEqual({
    cniVersion: "1.1.0",
    code: 7,
    msg: "Invalid Configuration",
    details: "Network 192.168.0.0/31 too small to allocate from.",
  });
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
