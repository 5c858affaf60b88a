/**
 * A runtime on the reference Go libcni (what containerd, CRI-O and podman embed)
 * drives the Go bridge and host-local with our portmap after them: the capability
 * args become runtimeConfig.portMappings, a real connection goes through the host
 * port, CHECK and DEL go through libcni's cache, and DEL leaves no rule of the pod.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ensureBuilt } from "../../../test/helpers/dist.ts";
import { libcniClient } from "../../../test/helpers/libcni-client.ts";
import { rootTest, withNetns } from "../../../test/helpers/netns.ts";
import { GO_PLUGINS } from "../../../test/helpers/plugin-run.ts";

const ROOT = resolve(import.meta.dir, "../../..");
const BUN = resolve(ROOT, "node_modules/.bin/bun");
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "cni-ts-pm-libcni-"));
  const bin = join(work, "bin");
  spawnSync("mkdir", [bin]);
  for (const t of ["bridge", "host-local"]) symlinkSync(`${GO_PLUGINS}/${t}`, join(bin, t));
  // Our portmap: the compiled binary under the plugin's name.
  symlinkSync(ensureBuilt(), join(bin, "portmap"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

rootTest("libcni: Go bridge + host-local, our portmap; a real forward; CHECK; DEL with other capability args leaves no rule", () =>
  withNetns(2, async (node, pod) => {
    const client = libcniClient();
    if (!client.path) throw new Error(`cannot build the libcni client: ${client.why}`);
    const confDir = mkdtempSync(join(work, "net.d-"));
    const dataDir = mkdtempSync(join(work, "data-"));
    writeFileSync(
      join(confDir, "10-pm.conflist"),
      JSON.stringify({
        cniVersion: "1.0.0",
        name: "pmlibcni",
        plugins: [
          { type: "bridge", bridge: "cnipml0", isGateway: true, ipMasq: true, ipam: { type: "host-local", subnet: "10.78.0.0/24", dataDir } },
          { type: "portmap", capabilities: { portMappings: true } },
        ],
      }),
    );
    const env = (mappings: unknown[]) => ({
      PATH: process.env.PATH!,
      NETCONFPATH: confDir,
      CNI_PATH: join(work, "bin"),
      CNI_IFNAME: "eth0",
      CNI_CACHE_DIR: join(work, "cache"),
      // Go field names, as containerd marshals its structs.
      CAP_ARGS: JSON.stringify({ portMappings: mappings }),
    });
    const maps = [{ HostPort: 8081, ContainerPort: 81, Protocol: "TCP" }];
    const run = (cmd: string, m: unknown[] = maps) =>
      spawnSync("ip", ["netns", "exec", node.name, client.path!, cmd, "pmlibcni", pod!.path, "pm-ctr-1"], { env: env(m), encoding: "utf8" });
    const nat = () =>
      node
        .exec(["iptables-save", "-t", "nat"])
        .split("\n")
        .filter((l) => l.includes("CNI-DN-") || l.includes("pm-ctr-1"));

    node.exec(["ip", "link", "set", "lo", "up"]);
    const add = run("add");
    expect(add.stderr).toBe("");
    expect(add.status).toBe(0);
    expect(nat().some((l) => l.includes("--to-destination 10.78.0.2:81"))).toBe(true);
    const server = Bun.spawn([
      "ip",
      "netns",
      "exec",
      pod!.name,
      BUN,
      "-e",
      `Bun.listen({ hostname: "0.0.0.0", port: 81, socket: { open(s) { s.write("via libcni\\n"); s.end(); }, data() {} } }); setTimeout(() => process.exit(0), 20000);`,
    ]);
    try {
      let got = "";
      for (let i = 0; i < 20 && !got.includes("via libcni"); i++) {
        got = node.exec(["timeout", "3", "bash", "-c", "exec 3<>/dev/tcp/10.78.0.1/8081 && cat <&3"], { allowFail: true });
        if (!got) Bun.sleepSync(200);
      }
      expect(got.trim()).toBe("via libcni");
    } finally {
      server.kill();
      await server.exited;
    }
    const check = run("check");
    expect([check.status, check.stderr]).toEqual([0, ""]);
    const del = run("del", [{ HostPort: 1, ContainerPort: 1, Protocol: "UDP" }]);
    expect([del.status, del.stderr]).toEqual([0, ""]);
    expect(nat()).toEqual([]);
  }),
);
