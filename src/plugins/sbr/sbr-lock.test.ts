import { expect } from "bun:test";
import { rootTest } from "../../../test/helpers/netns.ts";
import { withNodeAndPod } from "../../../test/helpers/node.ts";
import { GO_PLUGINS, ours, reference } from "../../../test/helpers/plugin-run.ts";

const OURS = ours("sbr");
const REF = reference("sbr");

// Without the reference's lock (flock on the namespace file) parallel ADDs pick the same
// free table and all but one fail with EEXIST.
rootTest("six interfaces of one pod added at once, by our sbr and the Go one mixed: one table each, no failure", () =>
  withNodeAndPod(async (node, pod) => {
    const n = 6;
    for (let i = 1; i <= n; i++) {
      node.exec(["ip", "link", "add", `h${i}`, "type", "veth", "peer", "name", `e${i}`, "netns", pod.name]);
      pod.exec(["ip", "link", "set", `e${i}`, "up"]);
      pod.exec(["ip", "addr", "add", `10.9.${i}.2/24`, "dev", `e${i}`]);
    }
    const runs = [];
    for (let i = 1; i <= n; i++) {
      const conf = {
        cniVersion: "1.0.0",
        name: "s",
        type: "sbr",
        prevResult: {
          cniVersion: "1.0.0",
          interfaces: [{ name: `e${i}`, sandbox: pod.path }],
          ips: [{ interface: 0, address: `10.9.${i}.2/24`, gateway: `10.9.${i}.1` }],
        },
      };
      const env = { PATH: process.env.PATH!, CNI_COMMAND: "ADD", CNI_CONTAINERID: `c${i}`, CNI_NETNS: pod.path, CNI_IFNAME: `e${i}`, CNI_PATH: GO_PLUGINS };
      const argv = i % 2 ? OURS : REF;
      const p = Bun.spawn(["ip", "netns", "exec", node.name, ...argv], {
        env,
        stdin: new TextEncoder().encode(JSON.stringify(conf)),
        stdout: "pipe",
        stderr: "ignore",
      });
      runs.push(p.exited.then(async (code) => ({ code, out: await new Response(p.stdout).text() })));
    }
    const outcomes = await Promise.all(runs);
    expect(outcomes.filter((o) => o.code !== 0)).toEqual([]);
    const rules = pod.ipJson("-4", "rule", "show").filter((r: { src?: string }) => r.src && r.src !== "all");
    expect(rules).toHaveLength(n);
    expect(new Set(rules.map((r: { table: string }) => r.table)).size).toBe(n);
    expect(rules.map((r: { table: string }) => Number(r.table)).sort((a: number, b: number) => a - b)).toEqual([100, 101, 102, 103, 104, 105]);
  }),
);
