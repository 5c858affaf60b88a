/**
 * The manifests in manifests/: kubectl (Debian's) applies the NAD and v1 Network CRDs to
 * the test API server, then a NAD and a v1 Network as users write them; Multus's source
 * reads both back as delegates. The ClusterRole is the one the tests run Multus under,
 * and the daemon config example loads.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startKubeApiServer, type KubeApiServer } from "../../../test/kube-apiserver/server.ts";
import { hasKubectl, Kubectl } from "../../../test/kube-apiserver/kubectl.ts";
import { MULTUS_RULES } from "../../../test/kube-apiserver/rbac.ts";
import { loadKubeconfig } from "../../kube/config.ts";
import { LightKubeClient } from "../../kube/light-client.ts";
import { loadDaemonConfig } from "../../multus/daemon-config.ts";
import { loadNetConf } from "./conf.ts";
import { kubeSource } from "./kube-source.ts";
import { kubernetesDelegate, legacyConfigs } from "./resolve.ts";

const DIR = join(import.meta.dir, "manifests");
let api: KubeApiServer;
let kubectl: Kubectl;
beforeAll(async () => {
  api = await startKubeApiServer({ nadCrd: false });
  kubectl = new Kubectl(api.kubeconfig);
});
afterAll(async () => {
  await api?.stop();
});

describe.if(hasKubectl)("manifests with kubectl", () => {
  test("the CRDs apply; a NAD and a v1 Network apply and read back as delegates", async () => {
    for (const f of ["network-attachment-definition-crd.yaml", "networks-v1-crd.yaml"]) {
      const r = await kubectl.run(["apply", "-f", join(DIR, f)]);
      expect(`${r.stdout}${r.stderr}`).toContain("created");
    }
    const nad = `apiVersion: "k8s.cni.cncf.io/v1"\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: macvlan-conf\nspec:\n  config: '{ "cniVersion": "0.3.1", "type": "macvlan", "master": "eth0", "mode": "bridge", "ipam": { "type": "host-local", "subnet": "192.168.1.0/24" } }'\n`;
    const net = `apiVersion: "kubernetes.com/v1"\nkind: Network\nmetadata:\n  name: flannel-network\nplugin: flannel\nargs: '[ { "delegate": { "isDefaultGateway": true } } ]'\n`;
    for (const doc of [nad, net]) {
      const r = await kubectl.run(["apply", "-f", "-"], { stdin: doc });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    expect((await kubectl.run(["get", "net-attach-def", "-o", "name"])).stdout.trim()).toBe("networkattachmentdefinition.k8s.cni.cncf.io/macvlan-conf");
    const source = kubeSource(new LightKubeClient(loadKubeconfig(api.kubeconfig)));
    const conf = loadNetConf(JSON.stringify({ name: "m", type: "multus", delegates: [{ type: "loopback", name: "lo" }] }));
    const d = await kubernetesDelegate({ source }, { name: "macvlan-conf", namespace: "default" }, conf, undefined);
    expect(d.name).toBe("default/macvlan-conf");
    expect(JSON.parse(new TextDecoder().decode(d.bytes))).toMatchObject({ name: "macvlan-conf", type: "macvlan", master: "eth0" });
    const v1 = await source.getLegacyNetwork("default", "flannel-network");
    expect(legacyConfigs(v1, { cniVersion: "0.3.1" })).toEqual([
      { type: "flannel", delegate: { isDefaultGateway: true }, name: "flannel-network", cniVersion: "0.3.1" },
    ]);
  });
});

test("rbac.yaml grants what the tests run Multus with (and get on the v1 networks); the daemon config example loads", () => {
  const docs = Bun.YAML.parse(readFileSync(join(DIR, "rbac.yaml"), "utf8")) as any[];
  const role = docs.find((d) => d.kind === "ClusterRole");
  expect(role.rules).toEqual([...MULTUS_RULES, { apiGroups: ["kubernetes.com"], resources: ["networks"], verbs: ["get"] }]);
  const cfg = loadDaemonConfig(join(DIR, "daemon-config.json"));
  expect(cfg).toMatchObject({ socketDir: "/run/multus/", multusConfigFile: "auto", cniConfigDir: "/etc/cni/net.d", cniVersion: "0.3.1" });
});
