/** `cni-ts ls [--json]`: the conf dir as a kubelet sees it. */
import { parseArgs } from "node:util";
import { defaultNetwork } from "../runtime/default-network.ts";
import { cniPath, confDir, runtimeOptions } from "./_env.ts";

const HELP = `usage: cni-ts ls [--json]

Lists the files of NETCONFPATH (default /etc/cni/net.d) in the order a kubelet reads
them, marks the one it would use as the default network (the first that parses and
whose plugins are all on CNI_PATH and support its version), and says why each other
file is skipped. --json prints one object per file: file, name, valid, reason, default.`;

/** Runs `ls`; exit 1 when no file is usable. */
export async function lsCmd(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const dir = confDir();
  const found = await defaultNetwork(dir, cniPath(), runtimeOptions());
  if (values.json) {
    const rows = found.files.map((f) => ({ file: f.file, name: f.name ?? null, valid: f.valid, reason: f.reason, default: f.default }));
    console.log(JSON.stringify(rows, null, 2));
  } else {
    if (found.files.length === 0) console.log(`no network config files in ${dir}`);
    for (const f of found.files) {
      const mark = f.default ? "*" : f.valid ? " " : "-";
      console.log(`${mark} ${f.file}  ${f.name ?? "?"}${f.reason ? `  (${f.reason})` : ""}`);
    }
    console.log(found.network ? `default network: ${found.network.conf.name}` : "no usable network config: a kubelet would report the network as not ready");
  }
  return found.network ? 0 : 1;
}
