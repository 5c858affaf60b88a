/**
 * Start-up cost of one plugin process: the VERSION call of our compiled loopback
 * against the Go reference loopback, interleaved in one run, reported as a ratio of
 * medians, with the peak RSS of each process. Budget: ratio <= 3, our peak <= 32 MB.
 *
 *   bun bench/startup.ts [--runs N] [--json]
 */
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { runs: { type: "string", default: "200" }, json: { type: "boolean", default: false } } });
const runs = Number(values.runs);
const ours = resolve(import.meta.dir, "../dist/cni-ts");
const theirs = "/usr/lib/cni/loopback";

const dir = mkdtempSync(join(tmpdir(), "cni-ts-bench-"));
try {
  const link = join(dir, "loopback");
  symlinkSync(ours, link);
  const stdin = new TextEncoder().encode('{"cniVersion":"1.0.0"}');
  const sample = (bin: string) => {
    const t0 = Bun.nanoseconds();
    const r = Bun.spawnSync([bin], { env: { CNI_COMMAND: "VERSION" }, stdin, stdout: "pipe", stderr: "pipe" });
    const ms = (Bun.nanoseconds() - t0) / 1e6;
    if (!r.success || !r.stdout.toString().includes("supportedVersions")) throw new Error(`${bin} VERSION failed: ${r.stderr}`);
    return ms;
  };
  // Peak RSS through GNU time: Bun's own resourceUsage reports the forked child
  // before exec, which still has the size of this bench process.
  const peakRss = (bin: string) => {
    let max = 0;
    for (let i = 0; i < 20; i++) {
      const r = Bun.spawnSync(["/usr/bin/time", "-f", "%M", bin], { env: { CNI_COMMAND: "VERSION" }, stdin, stdout: "pipe", stderr: "pipe" });
      max = Math.max(max, Number(r.stderr.toString().trim().split("\n").pop()) * 1024);
    }
    return max;
  };
  for (let i = 0; i < 10; i++) {
    sample(link);
    sample(theirs);
  }
  const a: number[] = [],
    b: number[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(sample(link));
    b.push(sample(theirs));
  }
  const rssA = peakRss(link),
    rssB = peakRss(theirs);
  const median = (v: number[]) => v.sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
  const res = {
    runs,
    oursMedianMs: +median(a).toFixed(3),
    goMedianMs: +median(b).toFixed(3),
    ratio: +(median(a) / median(b)).toFixed(2),
    oursPeakRssMB: +(rssA / 2 ** 20).toFixed(1),
    goPeakRssMB: +(rssB / 2 ** 20).toFixed(1),
  };
  if (values.json) console.log(JSON.stringify(res));
  else {
    console.log(`VERSION, ${runs} runs each, interleaved`);
    console.log(`  cni-ts loopback   median ${res.oursMedianMs} ms   peak RSS ${res.oursPeakRssMB} MB`);
    console.log(`  Go loopback       median ${res.goMedianMs} ms   peak RSS ${res.goPeakRssMB} MB`);
    console.log(`  ratio ours/Go     ${res.ratio}x   (budget: <= 3x, peak RSS <= 32 MB)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
