import { describe, expect, test } from "bun:test";
import { formatCniArgs, loadArgs, parseCniArgs } from "./args.ts";

const code4 = expect.objectContaining({ code: 4 });

describe("parseCniArgs (K=V;..., for passing on)", () => {
  test("splits pairs in order, tolerant of what a passthrough must keep", () => {
    expect(parseCniArgs("FOO=BAR;ABC=123;EMPTY=")).toEqual([
      ["FOO", "BAR"],
      ["ABC", "123"],
      ["EMPTY", ""],
    ]);
    expect(parseCniArgs("A=B;;C=x=y;")).toEqual([
      ["A", "B"],
      ["C", "x=y"],
    ]);
    expect(parseCniArgs("")).toEqual([]);
    expect(parseCniArgs(undefined)).toEqual([]);
    expect(() => parseCniArgs("A=B;C")).toThrow('ARGS: invalid pair "C"');
  });

  test("formats back", () =>
    expect(
      formatCniArgs([
        ["A", "1"],
        ["B", "2"],
      ]),
    ).toBe("A=1;B=2"));
});

describe("loadArgs (the reference's LoadArgs)", () => {
  const known = ["IP", "K8S_POD_NAME", "K8S_POD_NAMESPACE"] as const;

  test("picks known keys, exact case, the later pair wins", () => {
    expect(loadArgs("IP=10.1.2.3;K8S_POD_NAME=a;IP=10.1.2.4", known)).toEqual({ IP: "10.1.2.4", K8S_POD_NAME: "a" });
  });

  test("unknown pairs are listed in one error unless IgnoreUnknown", () => {
    expect(() => loadArgs("A=1;IP=x;ip=y", known)).toThrow('ARGS: unknown args ["A=1" "ip=y"]');
    expect(() => loadArgs("A=1", known)).toThrow(code4);
    for (const yes of ["1", "true", "True", "TRUE"]) expect(loadArgs(`IgnoreUnknown=${yes};A=1;IP=x`, known)).toEqual({ IP: "x" });
    // The flag counts wherever it stands.
    expect(loadArgs("A=1;IgnoreUnknown=1", known)).toEqual({});
    for (const no of ["0", "false"]) expect(() => loadArgs(`IgnoreUnknown=${no};A=1`, known)).toThrow("unknown args");
  });

  test.each(["A=B;", "A", "A=B=C", ";A=B", "IP=1;;IgnoreUnknown=1"])("%p has an invalid pair (reference)", (s) => {
    expect(() => loadArgs(s, known)).toThrow(code4);
    expect(() => loadArgs(s, known)).toThrow(/^ARGS: invalid pair "/);
  });

  test("IgnoreUnknown must be 1/true/0/false, and its key is case-sensitive", () => {
    expect(() => loadArgs("IgnoreUnknown=t", known)).toThrow('ARGS: error parsing value of pair "IgnoreUnknown=t": boolean unmarshal error: invalid input t');
    expect(() => loadArgs("ignoreunknown=1;A=1", known)).toThrow("unknown args");
  });
});
