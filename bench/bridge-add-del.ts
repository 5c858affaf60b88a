/**
 * Pod ADD+DEL of a bridge + host-local list through one runtime (the cni-ts CLI run
 * inside a node namespace, as a kubelet would run its runtime), with our plugins and
 * with the Go reference plugins, interleaved in one run. With ours the CLI runs the
 * whole chain in its own process; with Go's it starts bridge, which starts host-local.
 * Target: ours at most 0.8x the Go time; with --portmap (the standard chain bridge +
 * host-local + portmap, one port mapped) at most 0.7x.
 *
 *   bun bench/bridge-add-del.ts [--runs N] [--portmap]
 */
import { parseArgs } from "node:util";
import { BenchNode, DIST, benchBridgeList, benchSides, median, sh } from "./_node.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "40" }, portmap: { type: "boolean", default: false } } });
const runs = Number(values.runs);
const w = new BenchNode(1);
try {
  const list = (ipamDir: string) => benchBridgeList(ipamDir, { ipMasq: true, portmap: values.portmap });
  const sides = benchSides(w, list, () => ({ ms: [] as number[] }));
  const pod = `/var/run/netns/${w.pods[0]}`;
  const once = (s: (typeof sides)[keyof typeof sides], i: number) => {
    const env = {
      ...w.env(s.conf, s.path, `bench-${i}`),
      CAP_ARGS: JSON.stringify({ portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] }),
    };
    const t0 = Bun.nanoseconds();
    sh(["ip", "netns", "exec", w.node, DIST, "add", "benchnet", pod], undefined, env);
    sh(["ip", "netns", "exec", w.node, DIST, "del", "benchnet", pod], undefined, env);
    return (Bun.nanoseconds() - t0) / 1e6;
  };
  for (let i = 0; i < 3; i++) for (const s of Object.values(sides)) once(s, i);
  for (let i = 0; i < runs; i++) for (const s of Object.values(sides)) s.ms.push(once(s, i));
  const [ours, go] = [median(sides["cni-ts"].ms), median(sides["Go reference"].ms)];
  console.log(`${values.portmap ? "bridge + host-local + portmap" : "bridge + host-local"} ADD+DEL through one runtime, ${runs} runs each, interleaved`);
  console.log(`  cni-ts plugins   median ${ours.toFixed(1)} ms`);
  console.log(`  Go plugins       median ${go.toFixed(1)} ms`);
  console.log(`  ratio ours/Go    ${(ours / go).toFixed(2)}x   (target: <= ${values.portmap ? "0.7" : "0.8"}x)`);
} finally {
  w.close();
}
