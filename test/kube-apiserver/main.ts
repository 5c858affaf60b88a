/**
 * The test API server as a process, for demos and for trying kubectl by hand:
 *
 *   bun test/kube-apiserver/main.ts [--dir DIR] [--host 127.0.0.1] [--port 0] [--seed objects.yaml]...
 *
 * Prints one JSON line {"url","kubeconfig","token","pid"} when it listens, serves until
 * SIGINT/SIGTERM, then removes what it made (the PKI stays when --dir is given).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startKubeApiServer } from "./server.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string" },
    host: { type: "string" },
    port: { type: "string" },
    seed: { type: "string", multiple: true },
    verbose: { type: "boolean", default: false },
  },
});
const seed: any[] = [];
for (const f of values.seed ?? []) {
  const text = readFileSync(f, "utf8");
  const docs = f.endsWith(".json")
    ? [JSON.parse(text)]
    : text
        .split(/^---\s*$/m)
        .filter((d) => d.trim())
        .map((d) => Bun.YAML.parse(d));
  for (const d of docs) seed.push(...(d?.kind?.endsWith("List") && Array.isArray(d.items) ? d.items : [d]));
}
const srv = await startKubeApiServer({
  dir: values.dir,
  host: values.host,
  port: values.port ? Number(values.port) : undefined,
  seed,
  log: values.verbose ? (l) => console.error(l) : undefined,
});
console.log(JSON.stringify({ url: srv.url, kubeconfig: srv.kubeconfig, token: srv.token, pid: process.pid }));
const stop = async () => {
  await srv.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
