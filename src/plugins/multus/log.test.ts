import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger } from "./log.ts";

const dir = mkdtempSync(join(tmpdir(), "cni-ts-multus-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("logLevel filters (panic < error < verbose < debug), logToStderr and logFile as Multus's", () => {
  const lines: string[] = [];
  const file = join(dir, "multus.log");
  const log = new Logger().configure({ logLevel: "verbose", logFile: file });
  log.sink = (l) => lines.push(l);
  log.error("e1");
  log.verbose("v1");
  log.debug("d1");
  expect(lines.map((l) => l.replace(/^\S+ /, ""))).toEqual(["[error] e1\n", "[verbose] v1\n"]);
  expect(readFileSync(file, "utf8")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \[error\] e1\n.*\[verbose\] v1\n$/);
  const quiet: string[] = [];
  const off = new Logger().configure({ logToStderr: false });
  off.sink = (l) => quiet.push(l);
  off.error("x");
  expect(quiet).toEqual([]);
  // Default level is panic: nothing below it is printed.
  const dflt = new Logger();
  dflt.sink = (l) => quiet.push(l);
  dflt.error("x");
  expect(quiet).toEqual([]);
});

test("logOptions: maxSize rotates the file keeping maxBackups old ones", () => {
  const file = join(dir, "rot.log");
  const log = new Logger().configure({ logLevel: "error", logToStderr: false, logFile: file, logOptions: { maxSize: 0, maxBackups: 2 } });
  for (const m of ["a", "b", "c", "d"]) log.error(m);
  expect(readFileSync(file, "utf8")).toContain("] d");
  expect(readFileSync(`${file}.1`, "utf8")).toContain("] c");
  expect(readFileSync(`${file}.2`, "utf8")).toContain("] b");
  expect(existsSync(`${file}.3`)).toBe(false);
});
