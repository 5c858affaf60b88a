/** A runtime on the reference libcni drives our compiled loopback plugin: ADD, CHECK, DEL. */
import { afterAll, beforeAll, expect } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installedBinDir } from "../helpers/dist.ts";
import { libcniRuntime } from "../helpers/libcni-client.ts";
import { rootTest, withNetns } from "../helpers/netns.ts";

let work: string;
let plugins: { dir: string; cleanup: () => void };
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "cni-ts-libcni-"));
  plugins = installedBinDir();
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  plugins.cleanup();
});

// Debian's libcni knows spec versions up to 1.0.0.
for (const version of ["0.3.1", "0.4.0", "1.0.0"]) {
  rootTest(`libcni runtime drives our loopback at ${version}`, () =>
    withNetns(1, (pod) => {
      const list = { cniVersion: version, name: "lo", plugins: [{ type: "loopback" }] };
      const run = libcniRuntime(work, list, { bin: plugins.dir, ifName: "lo", netns: pod.path, containerID: "libcni-lo-1" });

      const add = run("add");
      expect(add.stderr).toBe("");
      expect(add.status).toBe(0);
      const result = JSON.parse(add.stdout);
      expect(result.cniVersion).toBe(version);
      expect(result.interfaces[0]).toMatchObject({ name: "lo", mac: "00:00:00:00:00:00", sandbox: pod.path });
      expect(result.ips.map((i: { address: string }) => i.address)).toContain("127.0.0.1/8");
      expect(pod.ipJson("link", "show", "lo")[0].flags).toContain("UP");

      if (version !== "0.3.1") expect(run("check").status).toBe(0);
      expect(run("del").status).toBe(0);
      expect(pod.ipJson("link", "show", "lo")[0].flags).not.toContain("UP");
    }),
  );
}
