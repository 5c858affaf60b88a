/**
 * Pod ADD+DEL of a bridge + host-local list driven by a runtime on the reference Go
 * libcni (what containerd, CRI-O and podman embed), which starts the bridge binary for
 * every command: ours (dist/cni-ts under the name bridge, host-local in-process) against
 * the Go plugins (bridge, which starts host-local), interleaved in one run inside a node
 * namespace. Unlike bench/bridge-add-del.ts, where our CLI runs our plugins in its own
 * process, every run here pays our binary's start-up, as it does on a containerd node.
 *
 *   bun bench/bridge-libcni.ts [--runs N] [--no-masq]
 */
import { parseArgs } from "node:util";
import { libcniClient } from "../test/helpers/libcni-client.ts";
import { BenchNode, benchBridgeList, benchSides, median, sh } from "./_node.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "40" }, "no-masq": { type: "boolean", default: false } } });
const runs = Number(values.runs);
const client = libcniClient();
if (!client.path) throw new Error(`no Go libcni runtime: ${client.why}`);
const w = new BenchNode(1);
try {
  const list = (ipamDir: string) => benchBridgeList(ipamDir, { ipMasq: !values["no-masq"] });
  const sides = benchSides(w, list, () => ({ add: [] as number[], del: [] as number[] }));
  const pod = `/var/run/netns/${w.pods[0]}`;
  const once = (s: (typeof sides)[keyof typeof sides], i: number): [number, number] => {
    const env = { ...w.env(s.conf, s.path, `bench-${i}`), CNI_IFNAME: "eth0" };
    const t0 = Bun.nanoseconds();
    sh(["ip", "netns", "exec", w.node, client.path!, "add", "benchnet", pod, `bench-${i}`], undefined, env);
    const t1 = Bun.nanoseconds();
    sh(["ip", "netns", "exec", w.node, client.path!, "del", "benchnet", pod, `bench-${i}`], undefined, env);
    return [(t1 - t0) / 1e6, (Bun.nanoseconds() - t1) / 1e6];
  };
  for (let i = 0; i < 3; i++) for (const s of Object.values(sides)) once(s, i);
  for (let i = 0; i < runs; i++) {
    for (const s of Object.values(sides)) {
      const [a, d] = once(s, i);
      s.add.push(a);
      s.del.push(d);
    }
  }
  const [o, g] = [sides["cni-ts"], sides["Go reference"]];
  const total = (s: typeof o) => median(s.add.map((a, i) => a + s.del[i]!));
  console.log(`bridge + host-local${values["no-masq"] ? "" : " (ipMasq)"} through the Go libcni, each command a plugin exec, ${runs} runs each, interleaved`);
  console.log(`  cni-ts plugins   ADD ${median(o.add).toFixed(1)} ms  DEL ${median(o.del).toFixed(1)} ms  ADD+DEL ${total(o).toFixed(1)} ms`);
  console.log(`  Go plugins       ADD ${median(g.add).toFixed(1)} ms  DEL ${median(g.del).toFixed(1)} ms  ADD+DEL ${total(g).toFixed(1)} ms`);
  console.log(`  ratio ours/Go    ${(total(o) / total(g)).toFixed(2)}x   (the runtime's own start-up is in both)`);
} finally {
  w.close();
}
