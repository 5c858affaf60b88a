/** Reads the JSON fixtures of this folder (for tests). */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The parsed content of testdata/<name>. */
export function fixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(import.meta.dir, name), "utf8")) as T;
}

/** The path of testdata/<name>. */
export function fixturePath(name: string): string {
  return join(import.meta.dir, name);
}
