/**
 * kubectl (Debian's, a client nobody here wrote) against the test API server: each
 * command's output as kubectl prints it against a real cluster. The expected texts are
 * kubectl's own formats (table headers from the apiserver's printers, "<kind>/<name>
 * created|configured|unchanged|patched|annotated", the Status messages).
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { columns, hasKubectl, Kubectl } from "./kubectl.ts";
import { LightKubeClient, loadKubeconfig } from "../../src/kube/index.ts";
import { NAD_CRD } from "./resources.ts";
import { startKubeApiServer, type KubeApiServer } from "./server.ts";

// Servers start with openssl and kubectl runs are processes: generous on a loaded machine.
setDefaultTimeout(30_000);

const t = hasKubectl ? test : test.skip;

const NODE1 = {
  apiVersion: "v1",
  kind: "Node",
  metadata: { name: "node-1", labels: { "node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "node-1" } },
  spec: { podCIDR: "10.244.0.0/24", podCIDRs: ["10.244.0.0/24"] },
  status: {
    conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" }],
    addresses: [
      { type: "InternalIP", address: "192.168.1.10" },
      { type: "Hostname", address: "node-1" },
    ],
    nodeInfo: {
      kubeletVersion: "v1.32.0",
      osImage: "Debian GNU/Linux 12 (bookworm)",
      kernelVersion: "6.1.0-26-amd64",
      containerRuntimeVersion: "containerd://1.7.24",
    },
  },
};

const POD_YAML = (image: string) => `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  nodeName: node-1
  containers:
  - name: web
    image: ${image}
`;
const NODE_YAML = `apiVersion: v1
kind: Node
metadata:
  name: node-2
spec:
  podCIDR: 10.244.1.0/24
`;
const NAD_YAML = `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: macvlan-conf
spec:
  config: '{"cniVersion":"0.3.1","type":"macvlan","master":"eth0","ipam":{"type":"host-local","subnet":"192.168.1.0/24"}}'
`;

let srv: KubeApiServer;
let k: Kubectl;
let dir: string;
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cni-ts-kubectl-test-"));
  srv = await startKubeApiServer({
    nadCrd: false,
    users: [
      { name: "admin", groups: ["system:masters"], token: "kubectl-admin-token", cert: true },
      { name: "viewer", token: "kubectl-viewer-token" },
    ],
    authorize: (u, a) => u.name === "admin" || ["get", "list", "watch"].includes(a.verb),
    seed: [NODE1],
  });
  k = new Kubectl(srv.kubeconfig);
});
afterAll(async () => {
  k?.close();
  await srv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.if(hasKubectl)("kubectl against the test server", () => {
  t("version and api-resources (discovery)", async () => {
    const v = await k.run(["version", "-o", "json"]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).serverVersion.gitVersion).toBe("v1.32.0");
    const before = srv.requests.length;
    const r = await k.run(["api-resources"]);
    expect(r.code).toBe(0);
    // Aggregated discovery (apidiscovery.k8s.io/v2), as kubectl 1.32 asks a 1.32 server: /api and /apis, no group version lists.
    expect([...new Set(srv.requests.slice(before).map((x) => x.path))].sort()).toEqual(["/api", "/apis", "/version"]);
    const lines = r.stdout.trim().split("\n").map(columns);
    expect(lines[0]).toEqual(["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]);
    expect(lines).toContainEqual(["nodes", "no", "v1", "false", "Node"]);
    expect(lines).toContainEqual(["pods", "po", "v1", "true", "Pod"]);
  });

  t("apply -f of the NAD CRD manifest, then the NAD resource is served", async () => {
    const crd = await k.run(["apply", "-f", file("crd.json", JSON.stringify(NAD_CRD))]);
    expect(crd.stderr).toBe("");
    expect(crd.stdout).toBe("customresourcedefinition.apiextensions.k8s.io/network-attachment-definitions.k8s.cni.cncf.io created\n");
    const get = await k.run(["get", "crd"]);
    expect(columns(get.stdout.split("\n")[0]!)).toEqual(["NAME", "CREATED AT"]);
    expect(columns(get.stdout.split("\n")[1]!)[0]).toBe("network-attachment-definitions.k8s.cni.cncf.io");
    const r = await k.run(["api-resources", "--api-group=k8s.cni.cncf.io"]);
    expect(columns(r.stdout.trim().split("\n")[1]!)).toEqual([
      "network-attachment-definitions",
      "net-attach-def",
      "k8s.cni.cncf.io/v1",
      "true",
      "NetworkAttachmentDefinition",
    ]);
    const none = await k.run(["get", "net-attach-def"]);
    expect(none.stderr).toBe("No resources found in default namespace.\n");
  });

  t("create -f of a NAD; get, get -o jsonpath", async () => {
    const c = await k.run(["create", "-f", file("nad.yaml", NAD_YAML)]);
    expect(c.stdout).toBe("networkattachmentdefinition.k8s.cni.cncf.io/macvlan-conf created\n");
    const again = await k.run(["create", "-f", join(dir, "nad.yaml")]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `Error from server (AlreadyExists): error when creating "${join(dir, "nad.yaml")}": network-attachment-definitions.k8s.cni.cncf.io "macvlan-conf" already exists\n`,
    );
    const g = await k.run(["get", "network-attachment-definitions"]);
    const [head, row] = g.stdout.trim().split("\n");
    expect(columns(head!)).toEqual(["NAME", "AGE"]);
    expect(columns(row!)[0]).toBe("macvlan-conf");
    expect(columns(row!)[1]).toMatch(/^\d+s$/);
    const cfg = await k.run(["get", "net-attach-def", "macvlan-conf", "-o", "jsonpath={.spec.config}"]);
    expect(JSON.parse(cfg.stdout).type).toBe("macvlan");
    expect(srv.object("network-attachment-definitions", "macvlan-conf", "default", "k8s.cni.cncf.io").metadata.generation).toBe(1);
    // apply of a custom resource: created, unchanged, configured (kubectl sends a JSON merge patch).
    const ap = file("nad2.yaml", NAD_YAML.replace("name: macvlan-conf", "name: bridge-conf"));
    expect((await k.run(["apply", "-f", ap])).stdout).toBe("networkattachmentdefinition.k8s.cni.cncf.io/bridge-conf created\n");
    expect((await k.run(["apply", "-f", ap])).stdout).toBe("networkattachmentdefinition.k8s.cni.cncf.io/bridge-conf unchanged\n");
    expect(
      (await k.run(["apply", "-f", file("nad2.yaml", NAD_YAML.replace("name: macvlan-conf", "name: bridge-conf").replace('"macvlan"', '"bridge"'))])).stdout,
    ).toBe("networkattachmentdefinition.k8s.cni.cncf.io/bridge-conf configured\n");
    const stored = srv.object("network-attachment-definitions", "bridge-conf", "default", "k8s.cni.cncf.io");
    expect([JSON.parse(stored.spec.config).type, stored.metadata.generation]).toEqual(["bridge", 2]);
    expect(srv.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/bridge-conf")).map((r) => r.contentType)).toEqual([
      "application/merge-patch+json",
    ]);
  });

  t("get nodes, -o wide; apply -f of a node", async () => {
    const g = await k.run(["get", "nodes"]);
    const [head, row] = g.stdout.trim().split("\n");
    expect(columns(head!)).toEqual(["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    expect(columns(row!)).toEqual(["node-1", "Ready", "control-plane", expect.stringMatching(/^\d+s$/), "v1.32.0"]);
    const w = await k.run(["get", "nodes", "-o", "wide"]);
    const wl = w.stdout.trim().split("\n");
    expect(columns(wl[0]!)).toEqual([
      "NAME",
      "STATUS",
      "ROLES",
      "AGE",
      "VERSION",
      "INTERNAL-IP",
      "EXTERNAL-IP",
      "OS-IMAGE",
      "KERNEL-VERSION",
      "CONTAINER-RUNTIME",
    ]);
    expect(columns(wl[1]!).slice(4)).toEqual(["v1.32.0", "192.168.1.10", "<none>", "Debian GNU/Linux 12 (bookworm)", "6.1.0-26-amd64", "containerd://1.7.24"]);
    const a = await k.run(["apply", "-f", file("node.yaml", NODE_YAML)]);
    expect(a.stdout).toBe("node/node-2 created\n");
    const c = await k.run(["create", "-f", file("node3.yaml", NODE_YAML.replace("node-2", "node-3"))]);
    expect(c.stdout).toBe("node/node-3 created\n");
    expect((await k.run(["delete", "node", "node-3"])).stdout).toBe('node "node-3" deleted\n');
    const n2 = (await k.run(["get", "node", "node-2"])).stdout.trim().split("\n")[1]!;
    expect(columns(n2).slice(0, 3)).toEqual(["node-2", "Unknown", "<none>"]);
  });

  t("apply -f of a pod: created, unchanged, configured", async () => {
    const p = file("pod.yaml", POD_YAML("busybox:1.36"));
    expect((await k.run(["create", "-f", file("pod0.yaml", POD_YAML("busybox").replace("name: web", "name: web0"))])).stdout).toBe("pod/web0 created\n");
    expect((await k.run(["delete", "pod", "web0"])).stdout).toBe('pod "web0" deleted\n');
    expect((await k.run(["apply", "-f", p])).stdout).toBe("pod/web created\n");
    expect((await k.run(["apply", "-f", p])).stdout).toBe("pod/web unchanged\n");
    expect((await k.run(["apply", "-f", file("pod.yaml", POD_YAML("busybox:1.37"))])).stdout).toBe("pod/web configured\n");
    expect(srv.object("pods", "web", "default").spec.containers[0].image).toBe("busybox:1.37");
    const g = await k.run(["get", "pods", "-o", "wide"]);
    const [head, row] = g.stdout.trim().split("\n");
    expect(columns(head!)).toEqual(["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]);
    expect(columns(row!)).toEqual(["web", "0/1", "Pending", "0", expect.stringMatching(/^\d+s$/), "<none>", "node-1", "<none>", "<none>"]);
  });

  t("patch: strategic (default), merge, json, the status subresource; no change", async () => {
    expect((await k.run(["patch", "pod", "web", "-p", '{"metadata":{"labels":{"tier":"front"}}}'])).stdout).toBe("pod/web patched\n");
    expect((await k.run(["patch", "pod", "web", "-p", '{"metadata":{"labels":{"tier":"front"}}}'])).stdout).toBe("pod/web patched (no change)\n");
    expect((await k.run(["patch", "net-attach-def", "macvlan-conf", "--type", "merge", "-p", '{"metadata":{"labels":{"a":"b"}}}'])).stdout).toBe(
      "networkattachmentdefinition.k8s.cni.cncf.io/macvlan-conf patched\n",
    );
    const smp = await k.run(["patch", "net-attach-def", "macvlan-conf", "-p", '{"metadata":{"labels":{"a":"c"}}}']);
    expect(smp.code).toBe(1);
    expect(smp.stderr).toContain(
      "application/strategic-merge-patch+json is not supported by k8s.cni.cncf.io/v1, Kind=NetworkAttachmentDefinition: the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json",
    );
    expect((await k.run(["patch", "node", "node-2", "--type", "json", "-p", '[{"op":"add","path":"/metadata/labels","value":{"zone":"a"}}]'])).stdout).toBe(
      "node/node-2 patched\n",
    );
    const st = await k.run([
      "patch",
      "node",
      "node-1",
      "--subresource=status",
      "-p",
      '{"status":{"conditions":[{"type":"NetworkUnavailable","status":"False","reason":"FlannelIsUp"}]}}',
    ]);
    expect(st.stdout).toBe("node/node-1 patched\n");
    expect(srv.object("nodes", "node-1").status.conditions.map((c: any) => c.type)).toEqual(["Ready", "NetworkUnavailable"]);
    const pod = await k.run(["patch", "pod", "web", "--subresource=status", "--type=merge", "-p", '{"status":{"phase":"Running","podIP":"10.244.0.5"}}']);
    expect(pod.stdout).toBe("pod/web patched\n");
    const row = columns((await k.run(["get", "pod", "web", "-o", "wide"])).stdout.trim().split("\n")[1]!);
    expect([row[2], row[5]]).toEqual(["Running", "10.244.0.5"]);
  });

  t("annotate: new, --overwrite, removal", async () => {
    expect((await k.run(["annotate", "pod", "web", "k8s.v1.cni.cncf.io/networks=macvlan-conf"])).stdout).toBe("pod/web annotated\n");
    const clash = await k.run(["annotate", "pod", "web", "k8s.v1.cni.cncf.io/networks=other"]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toBe(
      "error: --overwrite is false but found the following declared annotation(s): 'k8s.v1.cni.cncf.io/networks' already has a value (macvlan-conf)\n",
    );
    expect((await k.run(["annotate", "--overwrite", "pod", "web", "k8s.v1.cni.cncf.io/networks=other"])).stdout).toBe("pod/web annotated\n");
    expect(srv.object("pods", "web", "default").metadata.annotations["k8s.v1.cni.cncf.io/networks"]).toBe("other");
    expect((await k.run(["annotate", "node", "node-1", "flannel.alpha.coreos.com/public-ip=192.168.1.10"])).stdout).toBe("node/node-1 annotated\n");
    expect((await k.run(["annotate", "pod", "web", "k8s.v1.cni.cncf.io/networks-"])).stdout).toBe("pod/web annotated\n");
  });

  t("get --watch prints the table, then a row per change", async () => {
    const w = k.start(["get", "pods", "--watch"]);
    try {
      await w.waitFor(/^web\s/);
      expect(columns(w.lines[0]!)).toEqual(["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
      const before = w.lines.length;
      await k.run(["patch", "pod", "web", "--subresource=status", "--type=merge", "-p", '{"status":{"phase":"Succeeded"}}']);
      await w.waitFor(/^web\s+0\/1\s+Succeeded\s/);
      expect(w.lines.length).toBe(before + 1);
    } finally {
      await w.stop();
    }
    const ev = k.start(["get", "nodes", "--watch", "--output-watch-events"]);
    try {
      await ev.waitFor(/^ADDED\s+node-2\s/);
      expect(columns(ev.lines[0]!)).toEqual(["EVENT", "NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
      await k.run(["delete", "node", "node-2"]);
      await ev.waitFor(/^DELETED\s+node-2\s/);
    } finally {
      await ev.stop();
    }
  });

  t("get events and describe pod: an event as our client records it (as Multus), as kubectl prints it", async () => {
    const kc = new LightKubeClient(loadKubeconfig(srv.kubeconfig));
    const pod = await kc.getPod("default", "web");
    await kc.createEvent("default", {
      involvedObject: {
        kind: "Pod",
        namespace: "default",
        name: "web",
        uid: pod.metadata.uid,
        apiVersion: "v1",
        resourceVersion: pod.metadata.resourceVersion,
      },
      reason: "AddedInterface",
      message: "Add net1 [192.168.1.5/24] from default/macvlan-conf",
      source: { component: "multus" },
    });
    const g = await k.run(["get", "events"]);
    const [head, row] = g.stdout.trim().split("\n");
    expect(columns(head!)).toEqual(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]);
    expect(columns(row!)).toEqual([
      expect.stringMatching(/^\d+s$/),
      "Normal",
      "AddedInterface",
      "pod/web",
      "Add net1 [192.168.1.5/24] from default/macvlan-conf",
    ]);
    const d = await k.run(["describe", "pod", "web"]);
    expect(d.stderr).toBe("");
    const lines = d.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^Name:\s+web$/);
    expect(lines).toContainEqual(expect.stringMatching(/^Node:\s+node-1\/$/));
    const ev = lines.indexOf("Events:");
    expect(columns(lines[ev + 1]!)).toEqual(["Type", "Reason", "Age", "From", "Message"]);
    expect(columns(lines[ev + 3]!)).toEqual([
      "Normal",
      "AddedInterface",
      expect.stringMatching(/^\d+s$/),
      "multus",
      "Add net1 [192.168.1.5/24] from default/macvlan-conf",
    ]);
  });

  t("label and field selectors as kubectl sends them", async () => {
    const names = async (...args: string[]) => (await k.run(["get", "pods", "-o", "name", ...args])).stdout.trim();
    expect(await names("-l", "app=web")).toBe("pod/web");
    expect(await names("-l", "app in (x,web),tier")).toBe("pod/web");
    expect(await names("-l", "app notin (web)")).toBe("");
    expect(await names("--field-selector", "spec.nodeName=node-1")).toBe("pod/web");
    expect(await names("--field-selector", "spec.nodeName!=node-1")).toBe("");
    const bad = await k.run(["get", "pods", "--field-selector", "spec.bogus=x"]);
    expect(bad.stderr).toBe(
      'Error from server (BadRequest): Unable to find "/v1, Resource=pods" that match label selector "", field selector "spec.bogus=x": field label not supported: spec.bogus\n',
    );
  });

  t("unknown fields: refused under kubectl's strict validation, pruned from a custom resource with --validate=false; schema types checked", async () => {
    const f = file("bad-nad.yaml", NAD_YAML.replace("name: macvlan-conf", "name: extra").replace("spec:\n", "spec:\n  foo: 1\n"));
    const strict = await k.run(["create", "-f", f]);
    expect(strict.stderr).toBe(
      `Error from server (BadRequest): error when creating "${f}": NetworkAttachmentDefinition in version "v1" cannot be handled as a NetworkAttachmentDefinition: strict decoding error: unknown field "spec.foo"\n`,
    );
    expect((await k.run(["create", "--validate=false", "-f", f])).stdout).toBe("networkattachmentdefinition.k8s.cni.cncf.io/extra created\n");
    expect(srv.object("network-attachment-definitions", "extra", "default", "k8s.cni.cncf.io").spec).toEqual({ config: expect.any(String) });
    const typed = file("typed-nad.yaml", NAD_YAML.replace("name: macvlan-conf", "name: typed").replace(/config: .*/, "config: 42"));
    expect((await k.run(["create", "-f", typed])).stderr).toBe(
      `The NetworkAttachmentDefinition "typed" is invalid: spec.config: Invalid value: "integer": spec.config in body must be of type string: "integer"\n`,
    );
    const pod = file("bad-pod.yaml", POD_YAML("busybox").replace("name: web\n  labels", "name: other\n  labels").replace("spec:\n", "specc: {}\nspec:\n"));
    expect((await k.run(["create", "-f", pod])).stderr).toBe(
      `Error from server (BadRequest): error when creating "${pod}": Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "specc"\n`,
    );
  });

  t("wait: client-go's reflector (list, then watch by metadata.name with bookmarks) sees a condition and a deletion", async () => {
    const p = file("waiter.yaml", POD_YAML("busybox:1.36").replace("name: web\n  labels", "name: waiter\n  labels"));
    expect((await k.run(["apply", "-f", p])).stdout).toBe("pod/waiter created\n");
    // Act once kubectl's watch is open, so the change reaches it as a watch event.
    const watching = async (n: number) => {
      while (srv.requests.filter((r) => r.query.includes("fieldSelector=metadata.name%3Dwaiter") && r.query.includes("watch=true")).length < n)
        await Bun.sleep(20);
    };
    const ready = k.run(["wait", "--for=condition=Ready", "pod/waiter", "--timeout=20s"]);
    await watching(1);
    await k.run(["patch", "pod", "waiter", "--subresource=status", "--type=merge", "-p", '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}']);
    expect(await ready).toMatchObject({ code: 0, stdout: "pod/waiter condition met\n" });
    const gone = k.run(["wait", "--for=delete", "pod/waiter", "--timeout=20s"]);
    await watching(2);
    await k.run(["delete", "pod", "waiter"]);
    expect(await gone).toMatchObject({ code: 0, stdout: "pod/waiter condition met\n" });
    expect(srv.requests.some((r) => r.query.includes("fieldSelector=metadata.name%3Dwaiter") && r.query.includes("allowWatchBookmarks=true"))).toBe(true);
  });

  t("errors: NotFound, Unauthorized, Forbidden", async () => {
    const nf = await k.run(["get", "pod", "nope"]);
    expect(nf.code).toBe(1);
    expect(nf.stderr).toBe('Error from server (NotFound): pods "nope" not found\n');
    const badToken = srv.writeKubeconfig({ path: join(dir, "bad-kubeconfig") });
    writeFileSync(badToken, (await Bun.file(badToken).text()).replace("kubectl-admin-token", "not-a-token"));
    const un = await k.run(["get", "nodes"], { kubeconfig: badToken });
    expect(un.code).toBe(1);
    expect(un.stderr).toContain("error: You must be logged in to the server (Unauthorized)");
    const viewer = srv.writeKubeconfig({ user: "viewer" });
    const fb = await k.run(["annotate", "node", "node-1", "a=b"], { kubeconfig: viewer });
    expect(fb.code).toBe(1);
    expect(fb.stderr).toBe(
      'Error from server (Forbidden): nodes "node-1" is forbidden: User "viewer" cannot patch resource "nodes" in API group "" at the cluster scope\n',
    );
  });

  t("client certificate authentication: auth whoami", async () => {
    const r = await k.run(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}"], {
      kubeconfig: srv.writeKubeconfig({ auth: "cert", inline: true }),
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe('admin ["system:masters","system:authenticated"]');
    expect(srv.requests.at(-1)!.user).toBe("admin");
  });
});
