import { describe, expect, test } from "bun:test";
import { CniError, ErrorCode } from "./error.ts";
import { marshalIndent } from "./json.ts";
import { canConvertTo, convertRaw, convertResult, parseResult, resultFamily } from "./result.ts";
import { fixture } from "./testdata/load.ts";
import { ALL_VERSIONS } from "./version.ts";

interface GoldenOutput {
  result?: unknown;
  printed?: string;
  error?: string;
}
interface Inputs {
  targets: string[];
  cases: { name: string; result: unknown }[];
}
interface Goldens {
  cases: { name: string; outputs: Record<string, GoldenOutput> }[];
}

const inputs = fixture<Inputs>("convert-inputs.json");
const goldens = fixture<Goldens>("convert-golden.json");
const goldenByName = new Map(goldens.cases.map((c) => [c.name, c.outputs]));

function thrown(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error("expected a CniError, got a result");
}

describe("conversion against the reference library's goldens (every pair up to 1.0.0)", () => {
  test("every input has a golden and every pair is covered", () => {
    expect(goldens.cases.map((c) => c.name)).toEqual(inputs.cases.map((c) => c.name));
    const sources = new Set(inputs.cases.map((c) => (c.result as { cniVersion?: string }).cniVersion ?? "0.1.0"));
    for (const v of inputs.targets) expect(sources.has(v)).toBe(true);
    expect(inputs.targets).toEqual(ALL_VERSIONS.filter((v) => v !== "1.1.0"));
  });

  for (const c of inputs.cases) {
    describe(c.name, () => {
      for (const to of inputs.targets) {
        test(`to ${to}`, () => {
          const want = goldenByName.get(c.name)![to]!;
          if (want.error !== undefined) {
            const e = thrown(() => convertRaw(c.result, to));
            if (want.error.startsWith("decode:")) expect(e.code).toBe(ErrorCode.DecodingFailure);
            else expect([e.code, e.message]).toEqual([ErrorCode.IncompatibleCNIVersion, want.error]);
            return;
          }
          const ours = convertRaw(c.result, to);
          expect(JSON.parse(JSON.stringify(ours))).toEqual(want.result);
          // Same bytes as the reference's Print: field order, indentation, escapes.
          expect(marshalIndent(ours)).toBe(want.printed!);
        });
      }
    });
  }
});

interface Hand {
  cases: { name: string; input: unknown; expect: Record<string, { error?: string } & Record<string, unknown>> }[];
}

describe("conversion to and from 1.1.0 (hand-written from the SPEC)", () => {
  for (const c of fixture<Hand>("convert-1.1.0.json").cases) {
    for (const [to, want] of Object.entries(c.expect)) {
      test(`${c.name}: to ${to}`, () => {
        if (want.error === "decode") return void expect(thrown(() => convertRaw(c.input, to)).code).toBe(ErrorCode.DecodingFailure);
        if (want.error !== undefined) return void expect(thrown(() => convertRaw(c.input, to)).message).toBe(want.error);
        expect(JSON.parse(JSON.stringify(convertRaw(c.input, to)))).toEqual(want);
      });
    }
  }
});

describe("parseResult + convertResult (the plugin path: any version -> 1.x -> config version)", () => {
  const decodable = inputs.cases.filter((c) => !goldenByName.get(c.name)!["1.0.0"]!.error);
  for (const c of decodable) {
    for (const to of ALL_VERSIONS) {
      test(`${c.name}: via 1.x to ${to}`, () => {
        // A Go plugin reads prevResult with NewResultFromResult (to 1.0.0) and prints
        // with PrintResult: the same as converting the 1.0.0 golden on to `to`.
        const via100 = goldenByName.get(c.name)!["1.0.0"]!.result;
        let want: unknown;
        try {
          want = convertRaw(via100, to);
        } catch (e) {
          return void expect(thrown(() => convertResult(parseResult(c.result), to)).message).toBe((e as Error).message);
        }
        expect(convertResult(parseResult(c.result), to)).toEqual(want as never);
      });
    }
  }

  test("parseResult keeps the source version and the 1.1 fields of a 1.1.0 result", () => {
    const r = parseResult({
      cniVersion: "1.1.0",
      interfaces: [{ name: "eth0", mtu: 1500 }],
      ips: [{ address: "10.1.2.3/24" }],
      routes: [{ dst: "0.0.0.0/0", table: 0 }],
    });
    expect(r).toEqual({
      cniVersion: "1.1.0",
      interfaces: [{ name: "eth0", mtu: 1500 }],
      ips: [{ address: "10.1.2.3/24" }],
      routes: [{ dst: "0.0.0.0/0", table: 0 }],
      dns: {},
    });
    expect(parseResult({ cniVersion: "0.2.0", ip4: { ip: "10.1.2.3/24" } }).cniVersion).toBe("0.2.0");
  });

  test("parseResult takes the config's version when the result names none", () => {
    const r = parseResult({ ips: [{ version: "4", address: "10.1.2.3/24" }] }, "0.4.0");
    expect(r).toEqual({ cniVersion: "0.4.0", ips: [{ address: "10.1.2.3/24" }], dns: {} });
  });

  test("convertResult normalises what a plugin built and keeps 1.1 fields for 1.1.0 only", () => {
    const built = { cniVersion: "1.1.0", interfaces: [{ name: "eth0", mtu: 9000 }], ips: [{ interface: 0, address: "2001:DB8::0:5/64" }] };
    expect(convertResult(built, "1.1.0")).toEqual({
      cniVersion: "1.1.0",
      interfaces: [{ name: "eth0", mtu: 9000 }],
      ips: [{ interface: 0, address: "2001:db8::5/64" }],
      dns: {},
    });
    expect(convertResult(built, "1.0.0")).toEqual({
      cniVersion: "1.0.0",
      interfaces: [{ name: "eth0" }],
      ips: [{ interface: 0, address: "2001:db8::5/64" }],
      dns: {},
    });
    expect(convertResult(built, "0.2.0")).toEqual({ cniVersion: "0.2.0", ip6: { ip: "2001:db8::5/64" }, dns: {} });
  });
});

describe("versions", () => {
  test.each([...ALL_VERSIONS])("%s has a result shape", (v) => {
    expect(canConvertTo(v)).toBe(true);
    expect(["020", "040", "100"]).toContain(resultFamily(v));
  });

  test.each(["0.5.0", "1.0", "2.0.0", ""])("%p is refused with code 1", (v) => {
    expect(canConvertTo(v)).toBe(false);
    expect(thrown(() => convertRaw({ cniVersion: "1.0.0" }, v)).code).toBe(ErrorCode.IncompatibleCNIVersion);
    expect(thrown(() => parseResult({ cniVersion: v || "9.9.9" })).code).toBe(ErrorCode.IncompatibleCNIVersion);
  });

  test("a cniVersion that is not a string is a decoding failure", () => {
    expect(thrown(() => parseResult({ cniVersion: 1 })).code).toBe(ErrorCode.DecodingFailure);
    expect(thrown(() => parseResult([])).code).toBe(ErrorCode.DecodingFailure);
  });
});
