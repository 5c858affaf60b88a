import { existsSync, lstatSync, mkdirSync, readlinkSync, renameSync, symlinkSync, unlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { pluginTypes } from "../plugins/registry.ts";

export const INSTALL_HELP = `usage: cni-ts install [--bin-dir DIR] [--force] [--direct]

Puts one link per plugin type into DIR (default /opt/cni/bin), so DIR/bridge runs the
bridge plugin. The links point at cni-ts-shim beside this binary: a small C program that
answers VERSION itself, hands each command to \`cni-ts daemon\` when one runs on the
node, and otherwise runs this binary at once (it adds no measurable time then). Without
the shim beside the binary the links point at the binary. An existing file that is not
a link of ours (a Go reference plugin, say) is kept unless --force is given. Copy
cni-ts-libc.node with the binary: plugins make their system calls through it (through
bun:ffi, slower to start, when it is missing).

--direct  link to this binary itself, not the shim (no VERSION from the shim, no daemon)
--daemon  the default, kept for scripts: fails when there is no shim beside the binary`;

/** The native forwarder that ships beside the binary (src/shim/cni-ts-shim.c). */
export const SHIM_NAME = "cni-ts-shim";

export interface InstallOptions {
  binDir: string;
  force: boolean;
  /** The binary the links point at. */
  target: string;
  /** Links of ours to this other target (the binary or its shim) are replaced without --force. */
  alsoOurs?: string;
}

/** Creates the plugin links; returns one line per plugin type saying what was done. */
export function install(opts: InstallOptions): string[] {
  mkdirSync(opts.binDir, { recursive: true });
  const target = resolve(opts.target);
  const lines: string[] = [];
  for (const type of pluginTypes()) {
    const link = join(opts.binDir, type);
    if (existsSync(link) || isLink(link)) {
      if (isLink(link) && resolve(opts.binDir, readlinkSync(link)) === target) {
        lines.push(`${type}: already installed`);
        continue;
      }
      const ours = opts.alsoOurs !== undefined && isLink(link) && resolve(opts.binDir, readlinkSync(link)) === resolve(opts.alsoOurs);
      if (!opts.force && !ours) {
        lines.push(`${type}: kept existing ${link} (use --force to replace it)`);
        continue;
      }
    }
    // Link under a temporary name, then rename: a runtime never sees a missing plugin.
    const tmp = `${link}.cni-ts-tmp`;
    if (isLink(tmp) || existsSync(tmp)) unlinkSync(tmp);
    symlinkSync(target, tmp);
    renameSync(tmp, link);
    lines.push(`${type}: ${link} -> ${target}`);
  }
  return lines;
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
