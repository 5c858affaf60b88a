import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasKubectl, Kubectl } from "./kubectl.ts";

test.if(hasKubectl)(
  "main.ts: a standalone server with seeded objects, for kubectl by hand; stopped by SIGTERM",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "cni-ts-kube-main-"));
    const seed = join(dir, "seed.yaml");
    writeFileSync(seed, "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n");
    const p = Bun.spawn([process.execPath, join(import.meta.dir, "main.ts"), "--seed", seed], { stdout: "pipe", stderr: "pipe" });
    try {
      const reader = p.stdout.getReader();
      let line = "";
      while (!line.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`main.ts ended: ${await new Response(p.stderr).text()}`);
        line += new TextDecoder().decode(value);
      }
      const info = JSON.parse(line);
      expect(info.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const k = new Kubectl(info.kubeconfig);
      try {
        expect((await k.run(["get", "nodes,namespaces", "-o", "name"])).stdout).toBe(
          "node/n1\nnamespace/default\nnamespace/kube-node-lease\nnamespace/kube-public\nnamespace/kube-system\nnamespace/team-a\n",
        );
      } finally {
        k.close();
      }
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    } finally {
      p.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  30_000,
);
