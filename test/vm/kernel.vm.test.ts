/** The VM itself: what the VM set relies on (skipped outside the VM). */
import { expect, test } from "bun:test";
import { createServer } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inVm, kernelHas, type KernelFeature } from "./kernel.ts";

const vmTest = inVm ? test : (name: string, fn: () => void | Promise<void>) => test.skip(`${name} (runs only in the VM, through test/vm/vm.test.ts)`, fn);

vmTest("the VM's kernel has every feature the VM set needs", () => {
  const features: KernelFeature[] = ["dummy", "vlan", "ipvlan", "vrf", "tap", "bridge-vlan-filtering"];
  expect(features.filter((f) => !kernelHas(f))).toEqual([]);
});

vmTest("a unix socket binds in the VM's temp dir (tmpfs, not 9p)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cni-ts-vm-sock-"));
  try {
    const server = createServer();
    await new Promise<void>((ok, fail) => server.once("error", fail).listen(join(dir, "s.sock"), ok));
    await new Promise((ok) => server.close(ok));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
