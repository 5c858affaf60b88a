import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { DEFAULT_SOCKET as handOverDefault } from "./hand-over.ts";
import { DEFAULT_SOCKET } from "./protocol.ts";

test("the plugin process, the daemon and cni-ts-shim default to the same socket", () => {
  expect(handOverDefault).toBe(DEFAULT_SOCKET);
  const shim = readFileSync(new URL("../shim/cni-ts-shim.h", import.meta.url), "utf8");
  expect(shim).toContain(`#define DEFAULT_SOCKET ${JSON.stringify(DEFAULT_SOCKET)}`);
});
