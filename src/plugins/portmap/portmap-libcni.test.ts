/**
 * A runtime on the reference Go libcni (what containerd, CRI-O and podman embed)
 * drives the Go bridge and host-local with our portmap after them: the capability
 * args become runtimeConfig.portMappings, a real connection goes through the host
 * port, CHECK and DEL go through libcni's cache, and DEL leaves no rule of the pod.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libcniRuntime } from "../../../test/helpers/libcni-client.ts";
import { rootTest } from "../../../test/helpers/netns.ts";
import { withNodeAndPod } from "../../../test/helpers/node.ts";
import { readTcp, serveText } from "../../../test/helpers/node.ts";
import { mixedPluginDir } from "../../../test/helpers/plugin-run.ts";

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "cni-ts-pm-libcni-"));
  mixedPluginDir(join(work, "bin"), { bridge: "go", "host-local": "go", portmap: "ours" });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

rootTest("libcni: Go bridge + host-local, our portmap; a real forward; CHECK; DEL with other capability args leaves no rule", () =>
  withNodeAndPod(async (node, pod) => {
    const dataDir = mkdtempSync(join(work, "data-"));
    const list = {
      cniVersion: "1.0.0",
      name: "pmlibcni",
      plugins: [
        { type: "bridge", bridge: "cnipml0", isGateway: true, ipMasq: true, ipam: { type: "host-local", subnet: "10.78.0.0/24", dataDir } },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    };
    // Go field names, as containerd marshals its structs.
    const maps = [{ HostPort: 8081, ContainerPort: 81, Protocol: "TCP" }];
    const run = libcniRuntime(work, list, { node, bin: join(work, "bin"), netns: pod.path, containerID: "pm-ctr-1", capArgs: { portMappings: maps } });
    const nat = () =>
      node
        .exec(["iptables-save", "-t", "nat"])
        .split("\n")
        .filter((l) => l.includes("CNI-DN-") || l.includes("pm-ctr-1"));

    const add = run("add");
    expect(add.stderr).toBe("");
    expect(add.status).toBe(0);
    expect(nat().some((l) => l.includes("--to-destination 10.78.0.2:81"))).toBe(true);
    const server = serveText(pod, { port: 81, text: "via libcni" });
    try {
      expect(readTcp(node, "10.78.0.1", 8081)).toBe("via libcni");
    } finally {
      await server.stop();
    }
    const check = run("check");
    expect([check.status, check.stderr]).toEqual([0, ""]);
    const del = run("del", { portMappings: [{ HostPort: 1, ContainerPort: 1, Protocol: "UDP" }] });
    expect([del.status, del.stderr]).toEqual([0, ""]);
    expect(nat()).toEqual([]);
  }),
);
