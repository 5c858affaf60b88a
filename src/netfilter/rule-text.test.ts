import { describe, expect, test } from "bun:test";
import { chainRules, chainsOf, checkChainName, commentOf, quoteToken, ruleLine } from "./rule-text.ts";

describe("rule text", () => {
  test("strings are quoted as xtables_save_string prints them", () => {
    expect(quoteToken("ACCEPT")).toBe("ACCEPT");
    expect(quoteToken("a.b")).toBe('"a.b"');
    expect(quoteToken('name: "n" id: "x"')).toBe('"name: \\"n\\" id: \\"x\\""');
    expect(quoteToken("it's \\ here")).toBe('"it\\\'s \\\\ here"');
    expect(() => quoteToken("a\nb")).toThrow(RangeError);
    expect(() => quoteToken("a\0b")).toThrow(RangeError);
  });

  test("a comment is always printed as a string; other values bare unless the tokenizer needs quotes", () => {
    expect(ruleLine("-A", "X", ["-m", "comment", "--comment", "a.b", "-j", "DNAT", "--to-destination", "[fd00::2]:80"])).toBe(
      '-A X -m comment --comment "a.b" -j DNAT --to-destination [fd00::2]:80',
    );
    expect(ruleLine("-I", "X", ["-s", "10.0.0.0/8", "-j", "ACCEPT"])).toBe("-I X 1 -s 10.0.0.0/8 -j ACCEPT");
    // A value with a space stays one argument; a line break cannot start a new command.
    expect(ruleLine("-A", "X", ["--log-prefix", "a b"])).toBe('-A X --log-prefix "a b"');
    expect(() => ruleLine("-A", "X", ["-s", "1.2.3.4\nCOMMIT"])).toThrow(RangeError);
  });

  test("addresses are written as iptables-save prints them", () => {
    expect(ruleLine("-A", "X", ["-s", "10.0.0.1", "!", "-d", "10.1.2.3/24", "-j", "ACCEPT"])).toBe("-A X -s 10.0.0.1/32 ! -d 10.1.2.0/24 -j ACCEPT");
    expect(ruleLine("-A", "X", ["-d", "fd00::1"])).toBe("-A X -d fd00::1/128");
    expect(ruleLine("-A", "X", ["-d", "host.example"])).toBe("-A X -d host.example");
  });

  test("chain names are checked", () => {
    expect(checkChainName("CNI-HOSTPORT-DNAT")).toBe("CNI-HOSTPORT-DNAT");
    for (const bad of ["", "a b", "x".repeat(29), "A\nB", '"q"']) expect(() => checkChainName(bad)).toThrow(RangeError);
    expect(() => ruleLine("-A", "bad chain", [])).toThrow(RangeError);
  });

  test("a saved table is read back: chains, rules of a chain, comments", () => {
    const saved = [
      "*nat",
      ":PREROUTING ACCEPT [0:0]",
      ":CNI-X - [0:0]",
      '-A PREROUTING -m comment --comment "name: \\"n\\" id: \\"c\\"" -j CNI-X',
      "-A CNI-X -m comment --comment plain -j ACCEPT",
      "COMMIT",
    ].join("\n");
    expect([...chainsOf(saved)]).toEqual(["PREROUTING", "CNI-X"]);
    expect(chainRules(saved, "CNI-X")).toEqual(["-A CNI-X -m comment --comment plain -j ACCEPT"]);
    expect(commentOf(chainRules(saved, "PREROUTING")[0]!)).toBe('name: "n" id: "c"');
    expect(commentOf(chainRules(saved, "CNI-X")[0]!)).toBe("plain");
    expect(commentOf("-A X -j ACCEPT")).toBeUndefined();
  });
});
