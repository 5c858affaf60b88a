/** `cni-ts validate NETWORK`: every plugin found on CNI_PATH and speaking the list's version. */
import { parseArgs } from "node:util";
import { loadConfList } from "../runtime/conf-dir.ts";
import { validateNetworkList } from "../runtime/validate.ts";
import { confDir, runtimeOptions } from "./_env.ts";

const HELP = `usage: cni-ts validate NETWORK

Loads NETWORK from NETCONFPATH and asks every plugin on CNI_PATH for VERSION: exit 0
and the enabled capabilities when all are found and support the list's cniVersion,
exit 1 and every problem otherwise.`;

/** Runs `validate`. */
export async function validateCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(HELP);
    return 2;
  }
  const list = loadConfList(confDir(), positionals[0]!);
  const caps = await validateNetworkList(list, runtimeOptions());
  console.log(
    `${list.conf.name}: valid (cniVersion ${list.conf.cniVersion}, ${list.conf.plugins.length} plugins${caps.length ? `, capabilities ${caps.join(", ")}` : ""})`,
  );
  return 0;
}
