/**
 * Thick mode: `cni-ts multus-daemon` in a node namespace (informer caches over the
 * in-repo API server, auto-generated 00-multus.conf), the `multus-shim` run per exec by
 * the reference libcni client; the same pod through the thin plugin gives the same
 * interfaces, addresses and network-status. The shim fails at once when the daemon is down.
 */
import { afterAll, beforeAll, expect } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeApiServer } from "../../test/kube-apiserver/server.ts";
import { ensureBuilt } from "../../test/helpers/dist.ts";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import {
  dirWith,
  kubeconfigInside,
  libcni,
  libcniClientPath,
  macvlanMaster,
  makeWork,
  multusApiServer,
  nadObject,
  podCniArgs,
  podLinks,
  recordingPlugin,
  reservations,
  sub,
  type Work,
} from "../../test/helpers/multus-kit.ts";

let work: Work;
let api: KubeApiServer;
let client: string;
let multusKubeconfig: string;
beforeAll(async () => {
  work = makeWork("cni-ts-multus-thick-");
  client = libcniClientPath();
  ({ api, kubeconfig: multusKubeconfig } = await multusApiServer());
  api.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "apps" } });
});
afterAll(async () => {
  await api?.stop();
  work?.cleanup();
});

const nad = (name: string, config: object) => nadObject("apps", name, config);

async function until(what: string, fn: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

function startDaemon(node: TestNetns, config: object, dir: string) {
  const path = join(dir, "daemon-config.json");
  writeFileSync(path, JSON.stringify(config));
  const p = Bun.spawn(["ip", "netns", "exec", node.name, ensureBuilt(), "multus-daemon", "--config", path], { stdout: "pipe", stderr: "pipe" });
  const stderr = new Response(p.stderr).text();
  return { p, stderr, kill: () => p.kill("SIGTERM") };
}

rootTest(
  "thick: daemon + shim per exec give what the thin plugin gives; the daemon config's auxiliary chain runs last; a DRA device for a cached pod; auto config follows the master; the shim fails at once without the daemon; hotplug through /delegate",
  () =>
    withNetns(4, async (node, podThick, podThin, podDra) => {
      macvlanMaster(node);
      const kc = kubeconfigInside(node, { kubeconfig: multusKubeconfig, port: api.port }, work.dir);
      const dataThick = sub(work, "ipam-thick");
      const dataThin = sub(work, "ipam-thin");
      const run = sub(work, "run");
      const confDir = sub(work, "netd");
      const ready = join(work.dir, "default-network-ready");
      writeFileSync(ready, "");
      const master = (dataDir: string, extra: object = {}) => ({
        cniVersion: "1.0.0",
        name: "cbr0",
        plugins: [
          { type: "bridge", bridge: "tbr0", isGateway: true, ipam: { type: "host-local", subnet: "10.90.0.0/24", dataDir } },
          { type: "portmap", capabilities: { portMappings: true }, ...extra },
        ],
      });
      writeFileSync(join(confDir, "10-cbr0.conflist"), JSON.stringify(master(dataThick)));
      // The auxiliary chain beside the master (Multus's e2e: a tuning sysctl for every pod).
      dirWith(confDir, "vendor-chain", {
        "10-arp.conf": { cniVersion: "1.0.0", name: "arp", type: "tuning", dataDir: sub(work, "tuning"), sysctl: { "net.ipv4.conf.eth0.arp_filter": "1" } },
      });
      const cniDir = sub(work, "cnidir");
      const d = startDaemon(
        node,
        {
          cniVersion: "1.0.0",
          logLevel: "verbose",
          logToStderr: true,
          socketDir: run,
          daemonSocketDir: run,
          kubeconfig: kc.path,
          nodeName: "node-1",
          multusConfigFile: "auto",
          cniConfigDir: confDir,
          multusAutoconfigDir: confDir,
          readinessindicatorfile: ready,
          cniDir,
          binDir: work.bin,
          auxiliaryCNIChainName: "vendor-chain",
        },
        sub(work, "daemon"),
      );
      try {
        await until("00-multus.conf and the socket", () => existsSync(join(confDir, "00-multus.conf")) && existsSync(join(run, "multus.sock")));
        const generated = JSON.parse(readFileSync(join(confDir, "00-multus.conf"), "utf8"));
        expect(generated).toMatchObject({
          cniVersion: "1.0.0",
          name: "multus-cni-network",
          type: "multus-shim",
          clusterNetwork: join(confDir, "10-cbr0.conflist"),
          auxiliaryCNIChainName: "vendor-chain",
          capabilities: { portMappings: true },
          daemonSocketDir: run,
        });

        api.seed(
          nad("ptp-net", { cniVersion: "1.0.0", name: "ptp-net", type: "ptp", ipam: { type: "host-local", subnet: "10.90.1.0/24", dataDir: dataThick } }),
          nad("mv-net", { cniVersion: "1.0.0", type: "macvlan", master: "m0", ipam: { type: "static" } }),
        );
        const [pod] = api.seed({
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            name: "app",
            namespace: "apps",
            annotations: { "k8s.v1.cni.cncf.io/networks": '[{"name":"ptp-net","interface":"data0"},{"name":"mv-net","ips":["10.90.2.5/24"]}]' },
          },
          spec: { nodeName: "node-1", containers: [{ name: "c", image: "busybox" }] },
        });
        const env = (netconf: string) => ({
          NETCONFPATH: netconf,
          CNI_PATH: work.bin,
          CNI_CACHE_DIR: join(work.dir, "cache"),
          CNI_ARGS: podCniArgs(pod, "sb"),
        });
        const statusOf = () => JSON.parse(api.object("pods", "app", "apps").metadata.annotations["k8s.v1.cni.cncf.io/network-status"]);
        const shape = (s: any[]) => s.map(({ mac: _m, ...rest }) => rest);

        const thick = await libcni(node, client, "add", "multus-cni-network", podThick!.path, "ctr-thick", env(confDir));
        expect(thick.stderr).toBe("");
        expect(thick.code).toBe(0);
        const thickLinks = podLinks(podThick!);
        const thickStatus = statusOf();
        expect(thickLinks).toEqual({ eth0: ["10.90.0.2/24"], data0: ["10.90.1.2/24"], net2: ["10.90.2.5/24"] });
        expect(podThick!.exec(["sysctl", "-n", "net.ipv4.conf.eth0.arp_filter"]).trim()).toBe("1");
        expect(JSON.parse(readFileSync(join(cniDir, "ctr-thick"), "utf8")).map((x: any) => [x.Name, x.ifnameRequest ?? "eth0"])).toEqual([
          ["cbr0", "eth0"],
          ["apps/ptp-net", "data0"],
          ["apps/mv-net", "net2"],
          ["vendor-chain", "net3"],
        ]);

        // The same pod through the thin plugin (same networks, own address store).
        const thinConf = dirWith(work.dir, "netd-thin", {
          "00-multus.conf": {
            cniVersion: "1.0.0",
            name: "multus-cni-network",
            type: "multus",
            kubeconfig: kc.path,
            cniDir: sub(work, "cnidir-thin"),
            binDir: work.bin,
            delegates: [master(dataThin)],
          },
        });
        api.seed(
          nad("ptp-net", { cniVersion: "1.0.0", name: "ptp-net", type: "ptp", ipam: { type: "host-local", subnet: "10.90.1.0/24", dataDir: dataThin } }),
        );
        const thin = await libcni(node, client, "add", "multus-cni-network", podThin!.path, "ctr-thin", env(thinConf));
        expect(thin.code).toBe(0);
        expect(podLinks(podThin!)).toEqual(thickLinks);
        expect(shape(statusOf())).toEqual(shape(thickStatus));
        expect({ ...thin.json, interfaces: undefined }).toEqual({ ...thick.json, interfaces: undefined });
        expect((await libcni(node, client, "del", "multus-cni-network", podThin!.path, "ctr-thin", env(thinConf))).code).toBe(0);
        api.seed(
          nad("ptp-net", { cniVersion: "1.0.0", name: "ptp-net", type: "ptp", ipam: { type: "host-local", subnet: "10.90.1.0/24", dataDir: dataThick } }),
        );

        // Hotplug through /delegate (Multus's API): one more interface on the running pod, then gone.
        const hot = async (command: string) => {
          const env = {
            CNI_COMMAND: command,
            CNI_CONTAINERID: "ctr-thick",
            CNI_NETNS: podThick!.path,
            CNI_IFNAME: "hot1",
            CNI_PATH: work.bin,
            CNI_ARGS: `K8S_POD_NAMESPACE=apps;K8S_POD_NAME=app;K8S_POD_UID=${pod.metadata.uid}`,
          };
          const config = Buffer.from(
            JSON.stringify({ cniVersion: "1.0.0", name: "hot-net", type: "macvlan", master: "m0", ipam: { type: "static" } }),
          ).toString("base64");
          return fetch("http://multus/delegate", {
            unix: join(run, "multus.sock"),
            method: "POST",
            body: JSON.stringify({ env, config, interfaceAttributes: { ips: ["10.90.9.9/24"] } }),
          });
        };
        const hotAdd = await hot("ADD");
        expect(hotAdd.status).toBe(200);
        expect(((await hotAdd.json()) as any).Result.ips[0].address).toBe("10.90.9.9/24");
        expect(podLinks(podThick!).hot1).toEqual(["10.90.9.9/24"]);
        expect((await hot("DEL")).status).toBe(200);
        expect(podLinks(podThick!).hot1).toBeUndefined();

        // DRA through the daemon's pod cache: the device the pod's ResourceClaim was allocated, its ID from the node's ResourceSlice.
        const devcheck = recordingPlugin(work, "devcheck");
        api.seed(
          {
            apiVersion: "resource.k8s.io/v1",
            kind: "ResourceSlice",
            metadata: { name: "node-1-sriov" },
            spec: {
              driver: "sriov.example.com",
              nodeName: "node-1",
              pool: { name: "node-1", generation: 1, resourceSliceCount: 1 },
              devices: [
                {
                  name: "vf-3",
                  attributes: { "k8s.cni.cncf.io/deviceID": { string: "0000:03:00.4" }, "k8s.cni.cncf.io/resourceName": { string: "example.com/sriov" } },
                },
              ],
            },
          },
          {
            apiVersion: "resource.k8s.io/v1",
            kind: "ResourceClaim",
            metadata: { name: "dra-claim", namespace: "apps" },
            status: { allocation: { devices: { results: [{ request: "vf", driver: "sriov.example.com", pool: "node-1", device: "vf-3" }] } } },
          },
          nadObject("apps", "vf-net", { cniVersion: "1.0.0", name: "vf-net", type: "devcheck" }, { "k8s.v1.cni.cncf.io/resourceName": "example.com/sriov" }),
        );
        const [draPod] = api.seed({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "dra", namespace: "apps", annotations: { "k8s.v1.cni.cncf.io/networks": "vf-net" } },
          spec: { nodeName: "node-1", containers: [{ name: "c", image: "busybox" }] },
          status: { resourceClaimStatuses: [{ name: "net", resourceClaimName: "dra-claim" }] },
        });
        const draEnv = { ...env(confDir), CNI_ARGS: podCniArgs(draPod, "sb-dra") };
        devcheck.reset();
        const dra = await libcni(node, client, "add", "multus-cni-network", podDra!.path, "ctr-dra", draEnv);
        expect(dra.stderr).toBe("");
        expect(dra.code).toBe(0);
        expect(devcheck.configs()[0]).toMatchObject({ deviceID: "0000:03:00.4", pciBusID: "0000:03:00.4" });
        expect((await libcni(node, client, "del", "multus-cni-network", podDra!.path, "ctr-dra", draEnv)).code).toBe(0);

        // The master changes: the daemon rewrites 00-multus.conf.
        writeFileSync(join(confDir, "10-cbr0.conflist"), JSON.stringify(master(dataThick, { capabilities: { portMappings: true, bandwidth: true } })));
        await until("the rewritten config", () => JSON.parse(readFileSync(join(confDir, "00-multus.conf"), "utf8")).capabilities?.bandwidth === true, 15_000);

        expect(api.requests.filter((r) => r.status === 403)).toEqual([]);
        const del = await libcni(node, client, "del", "multus-cni-network", podThick!.path, "ctr-thick", env(confDir));
        expect(del.code).toBe(0);
        expect(podLinks(podThick!)).toEqual({});
        expect(reservations(dataThick)).toEqual([]);

        // The default network goes away: the daemon removes its config and exits (2).
        rmSync(ready);
        expect(await d.p.exited).toBe(2);
        expect(existsSync(join(confDir, "00-multus.conf"))).toBe(false);

        // Without the daemon the shim fails at once, saying why.
        writeFileSync(join(confDir, "00-multus.conf"), JSON.stringify(generated));
        // (Multus's shim would wait 60 s for the daemon; this message is the refused connection's, not a timeout's.)
        const down = await libcni(node, client, "add", "multus-cni-network", podThick!.path, "ctr-down", env(confDir));
        expect(down.code).not.toBe(0);
        expect(down.stderr).toContain(`CmdAdd (shim): the multus daemon does not answer on "${join(run, "multus.sock")}"`);
      } finally {
        d.kill();
        await d.p.exited;
        kc.stop();
      }
    }),
  60_000,
);
