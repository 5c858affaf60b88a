// The same as _kube-light-plugin.ts with @kubernetes/client-node.
export {};
async function main(): Promise<void> {
  const t0 = performance.now();
  const k8s = await import("@kubernetes/client-node");
  const t1 = performance.now();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG!);
  const pod = await kc.makeApiClient(k8s.CoreV1Api).readNamespacedPod({ name: "bench-pod", namespace: "default" });
  const t2 = performance.now();
  console.log(JSON.stringify({ startMs: t0, importMs: t1 - t0, requestMs: t2 - t1, name: pod.metadata?.name }));
}
void main();
