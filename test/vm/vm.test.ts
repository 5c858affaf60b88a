/**
 * The VM set: every `*.vm.test.ts` of the repository, run with `bun test` in one boot of
 * a VM on Debian's stock kernel (test/vm/runner.ts). Each test of the VM becomes a test
 * case here, so `npm test` counts it with the rest; where the VM cannot start, one
 * skipped case says why.
 */
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { runInVm, vmUnavailable } from "./runner.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BUN = resolve(ROOT, "node_modules/.bin/bun");

/** The VM set's files, relative to the repository; CNI_TS_VM_ONLY=a,b keeps those whose path contains a or b. */
function vmTestFiles(): string[] {
  const only = process.env.CNI_TS_VM_ONLY?.split(",").filter(Boolean);
  const all = [...new Bun.Glob("{src,test,examples}/**/*.vm.test.ts").scanSync({ cwd: ROOT })].sort();
  return only ? all.filter((f) => only.some((o) => f.includes(o))) : all;
}

interface Case {
  file: string;
  name: string;
  failure?: string;
  skipped: boolean;
}

const unescape = (s: string) =>
  s
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

/** Test cases of bun's JUnit report. */
function parseJunit(xml: string): Case[] {
  const cases: Case[] = [];
  for (const m of xml.matchAll(/<testcase name="([^"]*)" classname="([^"]*)"[^>]*? file="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[5] ?? "";
    const failure = /<failure[^>]*?message="([^"]*)"[^>]*>([\s\S]*?)<\/failure>/.exec(body);
    const name = [m[2], m[1]].filter(Boolean).map(unescape).join(" > ");
    cases.push({ file: unescape(m[3]!), name, failure: failure ? unescape(failure[2] || failure[1]!) : undefined, skipped: /<skipped/.test(body) });
  }
  return cases;
}

const files = vmTestFiles();
let reason = vmUnavailable();
if (!reason && files.length === 0) reason = "no *.vm.test.ts files";

if (reason) {
  console.warn(`VM tests skipped: ${reason}`);
  test.skip(`VM set: ${files.length} files (skipped: ${reason})`, () => {});
} else {
  const started = Date.now();
  let run: Awaited<ReturnType<typeof runInVm>> | undefined;
  try {
    run = await runInVm(
      [BUN, "test", "--timeout", "300000", "--reporter=junit", "--reporter-outfile=/run/vm/ctl/out/junit.xml", ...files.map((f) => `./${f}`)],
      {
        cwd: ROOT,
        // Generous: under emulation on a loaded machine the set has taken 14 minutes.
        timeoutMs: 40 * 60_000,
        collect: ["junit.xml"],
        log: (s) => console.log(s),
      },
    );
  } catch (e) {
    // The image could not be made (no apt source, no space): the VM cannot start here.
    reason = `the VM image cannot be made: ${(e as Error).message.split("\n")[0]}`;
  }
  if (!run) {
    console.warn(`VM tests skipped: ${reason}`);
    test.skip(`VM set: ${files.length} files (skipped: ${reason})`, () => {});
  } else {
    const r = run;
    const cases = parseJunit(r.files["junit.xml"] ?? "");
    console.log(
      `--- VM set (${files.length} files, ${((Date.now() - started) / 1000).toFixed(1)} s, status ${r.status}${r.timedOut ? ", timed out" : ""}) ---\n${r.output}--- end of VM set ---`,
    );

    test(`VM set: the VM booted, ran ${files.length} files and exited`, () => {
      if (r.status === null) throw new Error(`the VM gave no status${r.timedOut ? " (timed out)" : ""}; console:\n${r.console.slice(-4000)}`);
      const ran = new Set(cases.map((c) => c.file.replace(/^\.\//, "")));
      expect(files.filter((f) => !ran.has(f))).toEqual([]);
      // A failing case fails below; a non-zero status without one is a crash of the run.
      if (r.status !== 0 && !cases.some((c) => c.failure !== undefined)) throw new Error(`bun test exited ${r.status} in the VM:\n${r.output.slice(-4000)}`);
    });
    for (const c of cases) {
      const title = `[vm] ${c.file} > ${c.name}`;
      if (c.skipped) test.skip(title, () => {});
      else
        test(title, () => {
          if (c.failure !== undefined) throw new Error(c.failure);
        });
    }
  }
}
