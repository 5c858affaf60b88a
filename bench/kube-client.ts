/**
 * What Kubernetes access costs a per-exec plugin: two compiled plugin-like processes
 * that each load a client and read one pod from the test API server over TLS: ours
 * (src/kube, fetch) and @kubernetes/client-node's. Interleaved runs; medians of the
 * whole process (spawn to exit), of the client's import, of the first request, and
 * peak RSS; a compiled no-op is the floor. "1st request" includes reading the kubeconfig.
 *
 *   bun bench/kube-client.ts [--runs N] [--json]
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startKubeApiServer } from "../test/kube-apiserver/server.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" }, json: { type: "boolean", default: false } } });
const runs = Number(values.runs);
const root = resolve(import.meta.dir, "..");
const dir = mkdtempSync(join(tmpdir(), "cni-ts-bench-kube-"));
const srv = await startKubeApiServer({
  seed: [{ apiVersion: "v1", kind: "Pod", metadata: { name: "bench-pod", namespace: "default" }, spec: { containers: [{ name: "c", image: "busybox" }] } }],
});
try {
  writeFileSync(join(dir, "noop.ts"), "console.log(JSON.stringify({ startMs: performance.now(), importMs: 0, requestMs: 0 }));\n");
  const sources = {
    noop: join(dir, "noop.ts"),
    light: join(root, "bench/_kube-light-plugin.ts"),
    "client-node": join(root, "bench/_kube-clientnode-plugin.ts"),
  };
  const bins: Record<string, string> = {};
  for (const [name, src] of Object.entries(sources)) {
    bins[name] = join(dir, name);
    const r = Bun.spawnSync([process.execPath, "build", "--compile", "--bytecode", "--minify", src, "--outfile", bins[name]], {
      cwd: root,
      stdout: "pipe",
      stderr: "pipe",
    });
    if (!r.success) throw new Error(`build of ${src} failed: ${r.stderr}`);
  }
  // client-node takes its CA through an https.Agent that Bun's fetch ignores; the
  // process-wide extra CA keeps TLS verified for it. Ours reads the kubeconfig's CA.
  const env = { KUBECONFIG: srv.kubeconfig, NODE_EXTRA_CA_CERTS: srv.ca.certFile, PATH: process.env.PATH ?? "" };
  type Sample = { wallMs: number; startMs: number; importMs: number; requestMs: number };
  const sample = async (bin: string): Promise<Sample> => {
    const t0 = performance.now();
    const p = Bun.spawn([bin], { env, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    const wallMs = performance.now() - t0;
    if (code !== 0) throw new Error(`${bin} failed: ${err}`);
    return { wallMs, ...JSON.parse(out) };
  };
  const peakRss = async (bin: string): Promise<number> => {
    let max = 0;
    for (let i = 0; i < 5; i++) {
      const p = Bun.spawn(["/usr/bin/time", "-f", "%M", bin], { env, stdout: "pipe", stderr: "pipe" });
      const err = await new Response(p.stderr).text();
      await p.exited;
      max = Math.max(max, Number(err.trim().split("\n").pop()) * 1024);
    }
    return max;
  };
  const names = Object.keys(bins);
  for (let i = 0; i < 3; i++) for (const n of names) await sample(bins[n]!);
  const got: Record<string, Sample[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < runs; i++) for (const n of names) got[n]!.push(await sample(bins[n]!));
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const res: Record<string, any> = { runs };
  for (const n of names) {
    const s = got[n]!;
    res[n] = {
      processMs: +median(s.map((x) => x.wallMs)).toFixed(1),
      toFirstLineMs: +median(s.map((x) => x.startMs)).toFixed(1),
      importMs: +median(s.map((x) => x.importMs)).toFixed(2),
      firstRequestMs: +median(s.map((x) => x.requestMs)).toFixed(1),
      peakRssMB: +((await peakRss(bins[n]!)) / 2 ** 20).toFixed(1),
      binaryMB: +(statSync(bins[n]!).size / 2 ** 20).toFixed(1),
    };
  }
  res.ratioProcess = +(res["client-node"].processMs / res.light.processMs).toFixed(2);
  res.lightOverNoop = +(res.light.processMs / res.noop.processMs).toFixed(2);
  if (values.json) console.log(JSON.stringify(res));
  else {
    console.log(`one pod GET over TLS from a compiled process, ${runs} runs each, interleaved (medians)`);
    console.log("                 process   to 1st line   import   1st request   peak RSS   binary");
    for (const n of names) {
      const r = res[n];
      console.log(
        `  ${n.padEnd(12)} ${String(r.processMs).padStart(7)} ms ${String(r.toFirstLineMs).padStart(9)} ms ${String(r.importMs).padStart(6)} ms ${String(r.firstRequestMs).padStart(9)} ms ${String(r.peakRssMB).padStart(7)} MB ${String(r.binaryMB).padStart(6)} MB`,
      );
    }
    console.log(`  client-node / light, whole process: ${res.ratioProcess}x;  light / no-op: ${res.lightOverNoop}x`);
  }
} finally {
  await srv.stop();
  rmSync(dir, { recursive: true, force: true });
}
