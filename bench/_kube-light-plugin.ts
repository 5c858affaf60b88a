// A plugin-like process for bench/kube-client.ts: load the light client, read one pod.
export {};
async function main(): Promise<void> {
  const t0 = performance.now();
  const { LightKubeClient, loadKubeconfig } = await import("../src/kube/index.ts");
  const t1 = performance.now();
  const kc = new LightKubeClient(loadKubeconfig(process.env.KUBECONFIG!));
  const pod = await kc.getPod("default", "bench-pod");
  const t2 = performance.now();
  console.log(JSON.stringify({ startMs: t0, importMs: t1 - t0, requestMs: t2 - t1, name: pod.metadata.name }));
}
void main();
