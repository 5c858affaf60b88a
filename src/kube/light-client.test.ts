import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FLANNEL_RULES, MULTUS_RULES, rbac } from "../../test/kube-apiserver/rbac.ts";
import { startKubeApiServer, type KubeApiServer } from "../../test/kube-apiserver/server.ts";
import { inClusterConfig, isConflict, isGone, KubeError, LightKubeClient, loadKubeconfig, NODES, PODS, type Pod } from "./index.ts";

// Servers start with openssl and kubectl runs are processes: generous on a loaded machine.
setDefaultTimeout(30_000);

const node = (name: string, extra: object = {}) => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, annotations: { "flannel.alpha.coreos.com/backend-type": "vxlan" } },
  spec: { podCIDR: "10.244.1.0/24" },
  status: {
    conditions: [
      { type: "Ready", status: "True", reason: "KubeletReady" },
      { type: "NetworkUnavailable", status: "True", reason: "NoRouteCreated" },
    ],
  },
  ...extra,
});
const pod = (name: string, nodeName: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default" },
  spec: { nodeName, containers: [{ name: "c", image: "busybox" }] },
});
const nad = {
  apiVersion: "k8s.cni.cncf.io/v1",
  kind: "NetworkAttachmentDefinition",
  metadata: { name: "macvlan-conf", namespace: "default" },
  spec: { config: '{"cniVersion":"0.3.1","type":"macvlan"}' },
};

let srv: KubeApiServer;
let kc: LightKubeClient;
const logs: string[] = [];
const serverLog: string[] = [];
beforeAll(async () => {
  srv = await startKubeApiServer({
    users: [
      { name: "admin", groups: ["system:masters"], token: "admin-token-0123456789", cert: true },
      { name: "viewer", token: "viewer-token-0123456789" },
      { name: "system:serviceaccount:kube-system:multus", token: "multus-token-0123456789" },
      { name: "system:serviceaccount:kube-system:flannel", token: "flannel-token-0123456789" },
    ],
    authorize: rbac({
      viewer: [{ apiGroups: ["*"], resources: ["*"], verbs: ["get", "list", "watch"] }],
      "system:serviceaccount:kube-system:multus": MULTUS_RULES,
      "system:serviceaccount:kube-system:flannel": FLANNEL_RULES,
    }),
    seed: [node("node-1"), node("node-2"), pod("p1", "node-1"), pod("p2", "node-2"), nad],
    log: (l) => serverLog.push(l),
  });
  kc = new LightKubeClient(loadKubeconfig(srv.kubeconfig), { log: (l) => logs.push(l), timeoutMs: 3000 });
});
afterAll(() => srv.stop());

describe("kubeconfig variants", () => {
  test("token, CA from a file", async () => {
    expect((await kc.getNode("node-1")).spec?.podCIDR).toBe("10.244.1.0/24");
  });
  test("token, CA inline (certificate-authority-data)", async () => {
    const c = new LightKubeClient(loadKubeconfig(srv.writeKubeconfig({ inline: true })));
    expect((await c.listNodes()).items.map((n) => n.metadata.name)).toEqual(["node-1", "node-2"]);
  });
  test("client certificate from files and inline", async () => {
    for (const inline of [false, true]) {
      const cfg = loadKubeconfig(srv.writeKubeconfig({ auth: "cert", inline }));
      expect(cfg.token).toBeUndefined();
      expect(cfg.cert).toContain("BEGIN CERTIFICATE");
      await new LightKubeClient(cfg).getNode("node-2");
      expect(srv.requests.at(-1)!.user).toBe("admin");
    }
  });
  test("tokenFile, re-read when the token rotates", async () => {
    const path = srv.writeKubeconfig({ auth: "tokenFile" });
    const cfg = loadKubeconfig(path);
    const c = new LightKubeClient(cfg);
    await c.getNode("node-1");
    srv.users[0]!.token = "admin-token-rotated-1";
    writeFileSync(cfg.tokenFile!, "admin-token-rotated-1\n");
    await c.getNode("node-1");
    expect(srv.requests.at(-1)!.status).toBe(200);
    srv.users[0]!.token = "admin-token-0123456789";
  });
  test("in-cluster: service env and the service account files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cni-ts-sa-"));
    try {
      writeFileSync(join(dir, "token"), "admin-token-0123456789");
      writeFileSync(join(dir, "ca.crt"), srv.ca.cert);
      writeFileSync(join(dir, "namespace"), "kube-system\n");
      const cfg = inClusterConfig({ dir, env: { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(srv.port) } });
      expect(cfg.namespace).toBe("kube-system");
      const c = new LightKubeClient(cfg);
      expect(c.namespace).toBe("kube-system");
      expect((await c.getPod("default", "p1")).spec?.nodeName).toBe("node-1");
      // The kubelet rotates the projected token: the next request uses the new one.
      srv.users[0]!.token = "admin-token-rotated-2";
      writeFileSync(join(dir, "token"), "admin-token-rotated-2");
      await c.getPod("default", "p1");
      expect(srv.requests.at(-1)!.status).toBe(200);
      srv.users[0]!.token = "admin-token-0123456789";
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("KUBECONFIG with several files: merged, the first file wins", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cni-ts-kc-"));
    try {
      const other = join(dir, "other");
      writeFileSync(
        other,
        "apiVersion: v1\nkind: Config\ncurrent-context: other\nclusters:\n- name: test\n  cluster: {server: 'https://192.0.2.1:6443'}\ncontexts:\n- name: other\n  context: {cluster: test, user: admin, namespace: kube-system}\n",
      );
      const cfg = loadKubeconfig(`${srv.kubeconfig}:${other}:${join(dir, "missing")}`);
      expect([cfg.server, cfg.namespace]).toEqual([srv.url, "default"]);
      const ctx = loadKubeconfig(`${srv.kubeconfig}:${other}`, { context: "other" });
      expect([ctx.server, ctx.namespace, ctx.token]).toEqual([srv.url, "kube-system", "admin-token-0123456789"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("in-cluster over IPv6: KUBERNETES_SERVICE_HOST=::1", async () => {
    const v6 = await startKubeApiServer({ host: "::1" });
    const dir = mkdtempSync(join(tmpdir(), "cni-ts-sa-"));
    try {
      writeFileSync(join(dir, "token"), v6.token);
      writeFileSync(join(dir, "ca.crt"), v6.ca.cert);
      const cfg = inClusterConfig({ dir, env: { KUBERNETES_SERVICE_HOST: "::1", KUBERNETES_SERVICE_PORT: String(v6.port) } });
      expect([cfg.server, cfg.namespace]).toEqual([`https://[::1]:${v6.port}`, "default"]);
      expect((await new LightKubeClient(cfg).listNodes()).kind).toBe("NodeList");
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await v6.stop();
    }
  });
  test("a context that names a missing cluster is refused with the file and names", () => {
    const dir = mkdtempSync(join(tmpdir(), "cni-ts-kc-"));
    try {
      const f = join(dir, "config");
      writeFileSync(f, "apiVersion: v1\nkind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: nope, user: u}\n");
      expect(() => loadKubeconfig(f)).toThrow(`Cannot load kubeconfig "${f}": cluster "nope" of context "a" not found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("typed access", () => {
  test("patchNode merges annotations; patchNodeStatus by strategic merge keeps other conditions", async () => {
    const n = await kc.patchNode("node-1", { metadata: { annotations: { "flannel.alpha.coreos.com/public-ip": "192.168.1.1" } } });
    expect(n.metadata.annotations).toEqual({ "flannel.alpha.coreos.com/backend-type": "vxlan", "flannel.alpha.coreos.com/public-ip": "192.168.1.1" });
    const s = await kc.setNodeConditions("node-1", [
      { type: "NetworkUnavailable", status: "False", reason: "FlannelIsUp", message: "Flannel is running on this node" },
    ]);
    expect(s.status?.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual(["Ready=True", "NetworkUnavailable=False"]);
    expect(srv.requests.at(-1)).toMatchObject({ method: "PATCH", path: "/api/v1/nodes/node-1/status", contentType: "application/strategic-merge-patch+json" });
  });
  test("pods by node (field selector spec.nodeName), NADs, get of a missing object", async () => {
    expect((await kc.listPods(undefined, { fieldSelector: "spec.nodeName=node-2" })).items.map((p) => p.metadata.name)).toEqual(["p2"]);
    expect((await kc.getNAD("default", "macvlan-conf")).spec?.config).toContain("macvlan");
    expect((await kc.listNADs("default")).items).toHaveLength(1);
    const e = await kc.getNAD("default", "nope").catch((x) => x);
    expect(e).toBeInstanceOf(KubeError);
    expect(e.code).toBe(404);
    expect(e.message).toBe(
      `Cannot get network-attachment-definition "default/nope" on ${srv.url}: 404 NotFound: network-attachment-definitions.k8s.cni.cncf.io "nope" not found`,
    );
  });
  test("patchPodStatusAnnotations goes through pods/status and retries on 409", async () => {
    let calls = 0;
    const p = await kc.patchPodStatusAnnotations("default", "p1", (cur: Pod) => {
      calls++;
      // Someone else writes the pod between our read and our patch, once.
      if (calls === 1) srv.seed({ ...cur, metadata: { ...cur.metadata, labels: { touched: "yes" } } });
      return { "k8s.v1.cni.cncf.io/network-status": `[{"name":"net","try":${calls}}]` };
    });
    expect(calls).toBe(2);
    expect(p.metadata.annotations!["k8s.v1.cni.cncf.io/network-status"]).toBe('[{"name":"net","try":2}]');
    expect(p.metadata.labels).toEqual({ touched: "yes" });
    const statusPatches = srv.requests.filter((r) => r.path === "/api/v1/namespaces/default/pods/p1/status");
    expect(statusPatches.map((r) => `${r.method} ${r.status}`)).toEqual(["PUT 409", "PUT 200"]);
    // null removes an annotation
    const q = await kc.patchPodStatusAnnotations("default", "p1", { "k8s.v1.cni.cncf.io/network-status": null });
    expect(q.metadata.annotations ?? {}).toEqual({});
  });
  test("conflicts beyond the retries surface as 409", async () => {
    const e = await kc
      .patchPodStatusAnnotations(
        "default",
        "p2",
        (cur) => (srv.seed({ ...cur, metadata: { ...cur.metadata, labels: { n: String(Math.random()) } } }), { a: "b" }),
        { retries: 2 },
      )
      .catch((x) => x);
    expect(isConflict(e)).toBe(true);
    expect(e.message).toContain(`Cannot update pod "default/p2" (status) on ${srv.url}: 409 Conflict: Operation cannot be fulfilled on pods "p2"`);
  });
  test("patchPodStatusAnnotations via a merge patch, when asked", async () => {
    const p = await kc.patchPodStatusAnnotations("default", "p2", { x: "1" }, { via: "patch" });
    expect(p.metadata.annotations?.x).toBe("1");
    expect(srv.requests.at(-1)).toMatchObject({
      method: "PATCH",
      path: "/api/v1/namespaces/default/pods/p2/status",
      contentType: "application/merge-patch+json",
    });
  });
  test("update rules: the main resource keeps status, status keeps spec; pod spec and node podCIDR immutable", async () => {
    const p = await kc.getPod("default", "p2");
    const main = await kc.update(PODS, {
      ...p,
      spec: { ...p.spec, containers: [{ ...p.spec!.containers![0]!, image: "busybox:2" }] },
      status: { phase: "Running" },
    });
    expect([main.spec?.containers?.[0]?.image, main.status?.phase]).toEqual(["busybox:2", "Pending"]);
    const st = await kc.update(
      PODS,
      {
        ...main,
        spec: { ...main.spec, containers: [{ ...main.spec!.containers![0]!, image: "busybox:3" }] },
        status: { phase: "Running", podIP: "10.244.1.9" },
      },
      { subresource: "status" },
    );
    expect([st.spec?.containers?.[0]?.image, st.status?.phase, st.status?.podIP]).toEqual(["busybox:2", "Running", "10.244.1.9"]);
    const bad = await kc.patchPod("default", "p2", { spec: { nodeName: "node-1" } }).catch((x) => x);
    expect(bad.code).toBe(422);
    expect(bad.status.message).toStartWith('Pod "p2" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`');
    const cidr = await kc.patchNode("node-2", { spec: { podCIDR: "10.244.9.0/24", podCIDRs: ["10.244.9.0/24"] } }).catch((x) => x);
    expect(cidr.status.message).toBe('Node "node-2" is invalid: spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid');
  });
  test("createEvent fills in what client-go's recorder does", async () => {
    const ev = await kc.createEvent("default", {
      involvedObject: { kind: "Pod", namespace: "default", name: "p1", apiVersion: "v1" },
      reason: "AddedInterface",
      message: "Add net1 [10.1.1.2/24] from default/macvlan-conf",
      source: { component: "multus" },
    });
    expect(ev.metadata.name).toMatch(/^p1\.[0-9a-f]+$/);
    expect(ev).toMatchObject({ type: "Normal", count: 1, reason: "AddedInterface" });
    expect(srv.object("events", ev.metadata.name!, "default").message).toBe("Add net1 [10.1.1.2/24] from default/macvlan-conf");
  });
});

describe("with the reference deployments' RBAC", () => {
  const as = (sa: string) => new LightKubeClient({ ...loadKubeconfig(srv.kubeconfig), token: `${sa}-token-0123456789` });
  test("Multus's ClusterRole: what our client does for Multus is allowed", async () => {
    const m = as("multus");
    const p = await m.getPod("default", "p1");
    expect((await m.listPods(undefined, { fieldSelector: "spec.nodeName=node-1" })).items.length).toBeGreaterThan(0);
    await m.patchPodStatusAnnotations("default", "p1", { "k8s.v1.cni.cncf.io/network-status": "[]" });
    await m.getNAD("default", "macvlan-conf");
    await m.listNADs(undefined);
    await m.createEvent("default", {
      involvedObject: { kind: "Pod", name: "p1", namespace: "default", uid: p.metadata.uid },
      reason: "AddedInterface",
      message: "x",
    });
    const inf = m.watchPods({ nodeName: "node-1" });
    await inf.synced;
    inf.stop();
    // ...and a patch of pods/status is not (hence the update).
    const e = await m.patchPodStatusAnnotations("default", "p1", { a: "b" }, { via: "patch" }).catch((x) => x);
    expect(e.status.message).toBe(
      'pods "p1" is forbidden: User "system:serviceaccount:kube-system:multus" cannot patch resource "pods/status" in API group "" in the namespace "default"',
    );
  });
  test("flannel's ClusterRole: node reads, watches and status patches are allowed; a patch of the node itself is not", async () => {
    const f = as("flannel");
    await f.getNode("node-2");
    await f.patchNodeStatus("node-2", { metadata: { annotations: { "flannel.alpha.coreos.com/backend-type": "vxlan" } } });
    await f.setNodeConditions("node-2", [{ type: "NetworkUnavailable", status: "False", reason: "FlannelIsUp" }]);
    const inf = f.watchNodes();
    await inf.synced;
    inf.stop();
    expect((await f.patchNode("node-2", { metadata: { labels: { a: "b" } } }).catch((x) => x)).code).toBe(403);
  });
});

describe("failures", () => {
  test("a stalled server: the request times out, naming object and server", async () => {
    srv.fault = { mode: "stall", match: (r) => r.resource === "pods" };
    try {
      const t0 = performance.now();
      const e = await kc.getPod("default", "p1", { timeoutMs: 300 }).catch((x) => x);
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(e.reason).toBe("Timeout");
      expect(e.message).toBe(`Cannot get pod "default/p1" on ${srv.url}: timed out after 300 ms`);
    } finally {
      srv.fault = null;
    }
  });
  test("a failing server: 500 with the Status message", async () => {
    srv.fault = { mode: "fail", code: 500, times: 1 };
    const e = await kc.getNode("node-1").catch((x) => x);
    expect(e.code).toBe(500);
    expect(e.message).toBe(`Cannot get node "node-1" on ${srv.url}: 500 InternalError: Internal error occurred: injected fault`);
    expect((await kc.getNode("node-1")).metadata.name).toBe("node-1");
  });
  test("429 with Retry-After: retried after the wait, as client-go; without the header: an error", async () => {
    srv.fault = { mode: "fail", code: 429, retryAfterSeconds: 0, times: 2 };
    expect((await kc.getNode("node-1")).metadata.name).toBe("node-1");
    expect(srv.requests.slice(-3).map((r) => r.status)).toEqual([429, 429, 200]);
    srv.fault = { mode: "fail", code: 500, times: 1 };
    expect((await kc.getNode("node-1").catch((x) => x)).code).toBe(500);
    srv.fault = { mode: "fail", code: 429, retryAfterSeconds: 5, times: 1 };
    const e = await kc.getNode("node-1", { timeoutMs: 1000 }).catch((x) => x);
    expect(e.code).toBe(429);
    expect(e.message).toBe(`Cannot get node "node-1" on ${srv.url}: 429 TooManyRequests: Too many requests, please try again later.`);
  });
  test("a refused token: 401 Unauthorized, and the token is in no message or log line", async () => {
    const cfg = { ...loadKubeconfig(srv.kubeconfig), token: "wrong-secret-token-xyz" };
    const lines: string[] = [];
    const e = await new LightKubeClient(cfg, { log: (l) => lines.push(l) }).getNode("node-1").catch((x) => x);
    expect(e.code).toBe(401);
    expect(e.message).toBe(`Cannot get node "node-1" on ${srv.url}: 401 Unauthorized: Unauthorized`);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of [...lines, e.message, String(e.stack)]) expect(l).not.toContain("wrong-secret-token-xyz");
    for (const l of [...logs, ...serverLog]) expect(l).not.toContain("admin-token-0123456789");
    expect(serverLog.length).toBeGreaterThan(10);
  });
  test("403 Forbidden as the apiserver words it", async () => {
    const viewer = new LightKubeClient(loadKubeconfig(srv.writeKubeconfig({ user: "viewer" })));
    await viewer.getNode("node-1");
    const e = await viewer.patchNode("node-1", { metadata: { labels: { a: "b" } } }).catch((x) => x);
    expect(e.code).toBe(403);
    expect(e.status.message).toBe('nodes "node-1" is forbidden: User "viewer" cannot patch resource "nodes" in API group "" at the cluster scope');
    const s = await viewer.patchNodeStatus("node-1", {}).catch((x) => x);
    expect(s.status.message).toBe('nodes "node-1" is forbidden: User "viewer" cannot patch resource "nodes/status" in API group "" at the cluster scope');
  });
  test("TLS: a server certificate from another CA is refused, naming the server; insecure-skip-tls-verify accepts it", async () => {
    const { ca: _ca, ...rest } = loadKubeconfig(srv.kubeconfig);
    const e = await new LightKubeClient(rest).getNode("node-1").catch((x) => x);
    expect(e.code).toBe(0);
    expect(e.message).toStartWith(`Cannot get node "node-1" on ${srv.url}: `);
    expect((await new LightKubeClient({ ...rest, insecureSkipTLSVerify: true }).getNode("node-1")).metadata.name).toBe("node-1");
  });
  test("nothing listening: a network error naming the server", async () => {
    const c = new LightKubeClient({ ...loadKubeconfig(srv.kubeconfig), server: "https://127.0.0.1:1" }, { timeoutMs: 2000 });
    const e = await c.get(NODES, { name: "x" }).catch((x) => x);
    expect(e.code).toBe(0);
    expect(e.message).toStartWith('Cannot get node "x" on https://127.0.0.1:1: ');
  });
  test("a watch from a compacted version: the server's 410 ERROR event becomes a KubeError", async () => {
    srv.compact();
    const e = await (async () => {
      for await (const _ of kc.watch(NODES, undefined, { resourceVersion: "101" })) throw new Error("no event expected");
    })().catch((x) => x);
    expect(isGone(e)).toBe(true);
    expect(e.message).toBe(`Cannot watch nodes on ${srv.url}: 410 Expired: too old resource version: 101 (${Number(srv.resourceVersion) + 1})`);
  });
  test("generic verbs: create, update with a stale resourceVersion, delete", async () => {
    const created = await kc.create(PODS, pod("p3", "node-1"));
    const fresh = await kc.update(PODS, { ...created, metadata: { ...created.metadata, labels: { a: "1" } } });
    const stale = await kc.update(PODS, { ...created, metadata: { ...created.metadata, labels: { a: "2" } } }).catch((x) => x);
    expect(stale.code).toBe(409);
    expect(fresh.metadata.labels).toEqual({ a: "1" });
    await kc.delete(PODS, { namespace: "default", name: "p3" });
    // An unknown field: stored without complaint (fieldValidation Warn), the server's warning logged.
    await kc.create(PODS, { ...pod("p4", "node-1"), bogus: 1 } as any);
    expect(logs.at(-1)).toBe(`Warning from ${srv.url} on create pod "default/p4": 299 - "unknown field \\"bogus\\""`);
    expect(srv.object("pods", "p3", "default")).toBeUndefined();
  });
});
