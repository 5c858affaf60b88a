import { expect, test } from "bun:test";
import { cidrOf, ipFamily, normalizeCIDR, normalizeIP } from "./ip.ts";

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
