import { expect, test } from "bun:test";
import { cidrOf, ipFamily, normalizeCIDR, normalizeIP, parseIP } from "./ip.ts";

test.each([
  ["10.1.2.3/24", "10.1.2.3/24"],
  ["10.1.2.3/024", "10.1.2.3/24"],
  ["2001:DB8:0:0:0:0:0:3/64", "2001:db8::3/64"],
  ["2001:db8:0:0:1:0:0:1/64", "2001:db8::1:0:0:1/64"],
  ["::ffff:10.1.2.3/120", "10.1.2.3/24"],
  ["::ffff:10.1.2.3/64", "10.1.2.3/0"],
  ["::/0", "::/0"],
  ["::1.2.3.4/128", "::102:304/128"],
])("normalizeCIDR(%p) = %p as Go prints it", (s, want) => expect(normalizeCIDR(s)).toBe(want));

test.each(["10.1.2.3", "10.1.2.3/33", "010.1.2.3/24", "fe80::1%eth0/64", "10.1.2.3/-1", "x/24", "::1/129"])("normalizeCIDR(%p) is null", (s) => {
  expect(normalizeCIDR(s)).toBeNull();
});

test("normalizeIP", () => {
  expect(normalizeIP("::FFFF:10.1.2.1")).toBe("10.1.2.1");
  expect(normalizeIP("2001:0db8::0001")).toBe("2001:db8::1");
  expect(normalizeIP("10.1.2.300")).toBeNull();
  expect(cidrOf("10.0.0.0/8").prefix).toBe(8);
});

test("ipFamily: 4, 6 or 0 as Go's ParseIP and To4 tell (no CIDR, no zone)", () => {
  expect(["10.1.2.3", "::ffff:10.1.2.3", "fd00::1", "10.1.2.3/24", "fe80::1%eth0", "nope", ""].map(ipFamily)).toEqual([4, 4, 6, 0, 0, 0, 0]);
});

/** IPv4 parsing as it was written with split and a regex: the char loop must agree on every input. */
function parseIPv4BySplit(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return null;
    if (Number(p) > 255) return null;
    out.push(Number(p));
  }
  return out;
}

test("IPv4 text parses as with split and a regex, on edge cases and 20,000 random strings", () => {
  const cases = [
    "0.0.0.0",
    "255.255.255.255",
    "256.1.1.1",
    "1.2.3",
    "1.2.3.4.5",
    "01.2.3.4",
    "1.2.3.04",
    "1..2.3",
    ".1.2.3",
    "1.2.3.",
    "",
    "1.2.3.4 ",
    "1.2.3.1000",
    "0.00.0.0",
    "10.77.0.1",
  ];
  const alphabet = "0123456789.x ";
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % alphabet.length;
  for (let i = 0; i < 20_000; i++) cases.push(Array.from({ length: 1 + (i % 16) }, () => alphabet[rnd()]).join(""));
  for (const c of cases) {
    const got = parseIP(c);
    expect([c, got ? [...got] : null]).toEqual([c, parseIPv4BySplit(c)]);
  }
});
