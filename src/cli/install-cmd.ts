import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { LIBC_ADDON } from "../sys/libc.ts";
import { INSTALL_HELP, SHIM_NAME, install } from "./install.ts";

/** `cni-ts install [--bin-dir DIR] [--force] [--direct]`. */
export function installCmd(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      "bin-dir": { type: "string", default: "/opt/cni/bin" },
      force: { type: "boolean", default: false },
      daemon: { type: "boolean", default: false },
      direct: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(INSTALL_HELP);
    return 0;
  }
  // Links must point at the compiled binary; under `bun src/main.ts` execPath is bun itself.
  if (!process.argv[1]?.startsWith("/$bunfs/")) {
    console.error("cni-ts install: run it from the compiled binary (npm run build; dist/cni-ts install)");
    return 1;
  }
  const shim = join(dirname(process.execPath), SHIM_NAME);
  if (values.daemon && values.direct) {
    console.error("cni-ts install: --daemon and --direct exclude each other");
    return 2;
  }
  if (values.daemon && !existsSync(shim)) {
    console.error(`cni-ts install --daemon: no ${SHIM_NAME} beside ${process.execPath} (npm run build makes it)`);
    return 1;
  }
  // The shim by default: measured, it adds nothing a no-daemon command notices, answers
  // VERSION without a Bun start, and a daemon started later is used without reinstalling.
  const viaShim = !values.direct && existsSync(shim);
  if (!values.direct && !viaShim) console.error(`cni-ts install: no ${SHIM_NAME} beside ${process.execPath}: linking to the binary`);
  if (!existsSync(join(dirname(process.execPath), LIBC_ADDON)))
    console.error(`cni-ts install: no ${LIBC_ADDON} beside ${process.execPath}: plugins bind libc through bun:ffi (slower start)`);
  const [target, other] = viaShim ? [shim, process.execPath] : [process.execPath, shim];
  for (const line of install({ binDir: values["bin-dir"]!, force: values.force!, target, alsoOurs: other })) console.log(line);
  return 0;
}
