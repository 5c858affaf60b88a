import { expect, test } from "bun:test";
import { parseResolvConf, readResolvConf } from "./resolv-conf.ts";

test("parses resolv.conf as the reference's host-local does", () => {
  const text = [
    "# comment",
    "; also a comment",
    "nameserver 10.0.0.1",
    "nameserver   2001:db8::1  ",
    "domain a.example",
    "domain b.example",
    "search x.example y.example",
    "search z.example",
    "options ndots:5 timeout:1",
    "nameserver",
    "",
  ].join("\n");
  expect(parseResolvConf(text)).toEqual({
    nameservers: ["10.0.0.1", "2001:db8::1"],
    domain: "b.example",
    search: ["x.example", "y.example", "z.example"],
    options: ["ndots:5", "timeout:1"],
  });
  expect(parseResolvConf("")).toEqual({});
});

test("a missing file is code 999 with Go's wording", () => {
  expect(() => readResolvConf("/nonexistent/resolv.conf")).toThrow("open /nonexistent/resolv.conf: no such file or directory");
});
