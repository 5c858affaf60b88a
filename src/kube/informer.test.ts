import { afterEach, expect, test, setDefaultTimeout } from "bun:test";
import { startKubeApiServer, type KubeApiServer } from "../../test/kube-apiserver/server.ts";
import { waitFor } from "../../test/helpers/wait.ts";
import { LightKubeClient, loadKubeconfig, NODES, PODS, type InformerEvent, type Node, type Pod } from "./index.ts";

// Servers start with openssl and kubectl runs are processes: generous on a loaded machine.
setDefaultTimeout(30_000);

const node = (name: string) => ({ apiVersion: "v1", kind: "Node", metadata: { name }, spec: { podCIDR: "10.244.0.0/24" } });
const pod = (name: string, nodeName: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default" },
  spec: { nodeName, containers: [{ name: "c", image: "busybox" }] },
});

/** The server of the running test (serve starts it, afterEach stops it). */
let srv!: KubeApiServer;
const stops: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  // Last in, first out: the informers before the server they watch.
  for (const s of stops.splice(0).reverse()) await s();
});

/** The test API server with `opts` (stopped after the test) and a light client of it. */
async function serve(opts: Parameters<typeof startKubeApiServer>[0]): Promise<LightKubeClient> {
  srv = await startKubeApiServer(opts);
  const server = srv;
  stops.push(() => server.stop());
  return new LightKubeClient(loadKubeconfig(srv.kubeconfig));
}

const until = (cond: () => boolean, ms = 10_000) => waitFor(cond, "the informer's state", { timeoutMs: ms, everyMs: 10 });

/** The names of what an informer holds, sorted. */
const names = (inf: { list(): { metadata: { name?: string } }[] }) =>
  inf
    .list()
    .map((o) => o.metadata.name)
    .sort();

const summary = (evs: InformerEvent<{ metadata: { name?: string } }>[]) => evs.map((e) => `${e.type} ${e.object.metadata.name}`);

test("list then watch; the cache follows; a dropped watch resumes from the last version without a new list", async () => {
  const kc = await serve({ seed: [node("n1"), node("n2")] });
  const inf = kc.watchNodes({ backoff: { initialMs: 20 } });
  stops.push(() => inf.stop());
  const seen: InformerEvent<Node>[] = [];
  inf.on((e) => seen.push(e));
  await inf.synced;
  expect(names(inf)).toEqual(["n1", "n2"]);
  srv.seed(node("n3"));
  await until(() => inf.get("n3") !== undefined);
  srv.dropWatches();
  srv.seed({ ...node("n1"), metadata: { name: "n1", labels: { x: "y" } } });
  await until(() => inf.get("n1")?.metadata.labels?.x === "y");
  const resumeAt = Number(srv.resourceVersion) - 1;
  await kc.delete(NODES, { name: "n2" });
  await until(() => inf.get("n2") === undefined);
  expect(summary(seen)).toEqual(["ADDED n1", "ADDED n2", "ADDED n3", "MODIFIED n1", "DELETED n2"]);
  expect(inf.stats.lists).toBe(1);
  expect(inf.stats.watches).toBeGreaterThanOrEqual(2);
  const watches = srv.requests.filter((r) => r.path === "/api/v1/nodes" && r.query.includes("watch=1"));
  expect(watches[1]!.query).toContain(`resourceVersion=${resumeAt}`);
});

test("410 Gone: re-list and report what changed while away (ADDED, MODIFIED, DELETED)", async () => {
  const kc = await serve({ seed: [pod("a", "n1"), pod("b", "n1"), pod("c", "n2")] });
  const errors: Error[] = [];
  const inf = kc.watchPods({ nodeName: "n1", backoff: { initialMs: 20 }, onError: (e) => errors.push(e) });
  stops.push(() => inf.stop());
  const seen: InformerEvent<Pod>[] = [];
  await inf.synced;
  inf.on((e) => seen.push(e));
  expect(names(inf)).toEqual(["a", "b"]);
  // While the watch is down: b goes, a changes, d comes; the history is compacted.
  srv.fault = { mode: "fail", code: 503, match: (r) => r.verb === "watch" };
  srv.dropWatches();
  await until(() => errors.length >= 1);
  await kc.delete(PODS, { namespace: "default", name: "b" });
  srv.seed({ ...pod("a", "n1"), metadata: { name: "a", namespace: "default", labels: { v: "2" } } }, pod("d", "n1"), pod("e", "n2"));
  srv.compact();
  srv.fault = null;
  await until(() => inf.stats.lists === 2 && inf.get("d", "default") !== undefined);
  expect(summary(seen).sort()).toEqual(["ADDED d", "DELETED b", "MODIFIED a"]);
  expect(errors.some((e) => (e as any).code === 410)).toBe(true);
  expect(errors.find((e) => (e as any).code === 410)!.message).toContain(": 410 Expired: too old resource version");
  expect(names(inf)).toEqual(["a", "d"]);
});

test("bookmarks move the resourceVersion on", async () => {
  const kc = await serve({ seed: [node("n1")], bookmarkIntervalMs: 50 });
  const inf = kc.watchNodes({ backoff: { initialMs: 20 } });
  stops.push(() => inf.stop());
  await inf.synced;
  await until(() => inf.stats.bookmarks >= 2);
  // Writes to other resources move the global version; the bookmark carries it.
  srv.seed(pod("x", "n1"));
  const rv = srv.resourceVersion;
  await until(() => inf.resourceVersion === rv);
  expect(inf.stats.lists).toBe(1);
});

test("a silent watch is dropped after the idle timeout and resumed; a stalled connect times out", async () => {
  const kc = await serve({ seed: [node("n1")] });
  const errors: Error[] = [];
  const inf = kc.watchNodes({ backoff: { initialMs: 20 }, idleTimeoutMs: 200, requestTimeoutMs: 300, onError: (e) => errors.push(e) });
  stops.push(() => inf.stop());
  await inf.synced;
  // Under load a watch may also time out connecting first: wait for the idle-timeout error itself.
  const idle = `Cannot watch nodes on ${srv.url}: no event for 200 ms`;
  await until(() => errors.filter((e) => e.message === idle).length >= 2);
  srv.fault = { mode: "stall", match: (r) => r.verb === "watch", times: 1 };
  await until(() => errors.some((e) => e.message.endsWith("timed out after 300 ms")));
  srv.seed(node("n2"));
  await until(() => inf.get("n2") !== undefined);
  expect(inf.stats.lists).toBe(1);
});

test("reconnect backoff doubles while the server keeps failing, and resets once it answers", async () => {
  const kc = await serve({ seed: [node("n1")] });
  const at: number[] = [];
  const inf = kc.watchNodes({ backoff: { initialMs: 40, maxMs: 1000 }, onError: () => at.push(performance.now()) });
  stops.push(() => inf.stop());
  await inf.synced;
  srv.fault = { mode: "fail", code: 500, match: (r) => r.verb === "watch" };
  srv.dropWatches();
  await until(() => at.length >= 5);
  srv.fault = null;
  const gaps = at.slice(1).map((t, i) => t - at[i]!);
  // 40, 80, 160, 320 ms with +-25% jitter: each gap at least its lower bound (a loaded
  // machine only makes gaps longer).
  expect(gaps.slice(0, 4).map((g, i) => g >= 40 * 2 ** i * 0.75 - 2)).toEqual([true, true, true, true]);
  srv.seed(node("n2"));
  await until(() => inf.get("n2") !== undefined);
});

test("the server ends each watch at timeoutSeconds: resumed at once, no error, no new list", async () => {
  const kc = await serve({ seed: [node("n1")] });
  const inf = kc.watchNodes({ timeoutSeconds: 1, backoff: { initialMs: 5000 } });
  stops.push(() => inf.stop());
  await inf.synced;
  await until(() => inf.stats.watches >= 3);
  srv.seed(node("n2"));
  await until(() => inf.get("n2") !== undefined);
  expect([inf.stats.lists, inf.stats.errors]).toEqual([1, 0]);
});

test("finalizers: delete marks the object (MODIFIED with deletionTimestamp), removing the last finalizer deletes it", async () => {
  const kc = await serve({ seed: [{ ...pod("f", "n1"), metadata: { name: "f", namespace: "default", finalizers: ["example.com/hold"] } }] });
  const inf = kc.watchPods({ namespace: "default" });
  stops.push(() => inf.stop());
  const seen: InformerEvent<Pod>[] = [];
  await inf.synced;
  inf.on((e) => seen.push(e));
  await kc.delete(PODS, { namespace: "default", name: "f" });
  await until(() => seen.length === 1);
  expect(seen[0]!.type).toBe("MODIFIED");
  expect(inf.get("f", "default")!.metadata.deletionTimestamp).toBeString();
  await kc.patchPod("default", "f", [{ op: "remove", path: "/metadata/finalizers" }], { type: "json" });
  await until(() => inf.get("f", "default") === undefined);
  expect(summary(seen)).toEqual(["MODIFIED f", "DELETED f"]);
});

test("async iteration: events in order, ends on stop()", async () => {
  const kc = await serve({ seed: [node("n1")] });
  const inf = kc.watchNodes();
  const got: string[] = [];
  const done = (async () => {
    for await (const e of inf) {
      got.push(`${e.type} ${e.object.metadata.name}`);
      if (got.length === 3) inf.stop();
    }
  })();
  await inf.synced;
  srv.seed(node("n2"));
  srv.seed({ ...node("n2"), metadata: { name: "n2", labels: { a: "b" } } });
  await done;
  expect(got).toEqual(["ADDED n1", "ADDED n2", "MODIFIED n2"]);
});
