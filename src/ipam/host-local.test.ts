import { afterEach, beforeEach, expect, spyOn, test } from "bun:test";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NetConf } from "../spec/types.ts";
import * as config from "./host-local-config.ts";
import { hostLocalDel } from "./host-local.ts";
import { tempDataDir } from "../../test/helpers/data-dir.ts";

let tmp = "";
let dataDir = "";
beforeEach(() => {
  ({ tmp, dataDir } = tempDataDir("cnits-hl-"));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

test("DEL reads no range of the config (ADD's checks are most of a DEL's own work) and releases the attachment's address", () => {
  mkdirSync(join(dataDir, "net1"));
  writeFileSync(join(dataDir, "net1", "10.1.2.5"), "c1\r\neth0");
  const load = spyOn(config, "loadHostLocalConfig");
  try {
    const conf = { cniVersion: "1.0.0", name: "net1", type: "bridge", ipam: { type: "host-local", dataDir, subnet: "10.1.2.0/24" } } as NetConf;
    hostLocalDel({ conf, args: "IP=not-an-ip", containerID: "c1", ifName: "eth0" });
    expect(load).not.toHaveBeenCalled();
  } finally {
    load.mockRestore();
  }
  expect(readdirSync(join(dataDir, "net1")).filter((f) => f.startsWith("10."))).toEqual([]);
});
