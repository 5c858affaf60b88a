/**
 * Where a command is on PATH, remembered once found: each look walks every directory of
 * PATH (a stat each), and a bridge DEL with ipMasq asked it of iptables-save,
 * iptables-restore and nft about nine times (90 stats). A command found stays found
 * while PATH is the same (a test may put a wrapper first); one not found is looked for
 * again, so a tool installed while a daemon runs is seen.
 */
const found = new Map<string, string>();

/** The path of `name` on PATH, or null (looked up without starting a process). */
export function whichOnce(name: string): string | null {
  const PATH = process.env.PATH ?? "";
  const key = `${PATH}\0${name}`;
  const known = found.get(key);
  if (known !== undefined) return known;
  const path = Bun.which(name, { PATH });
  if (path !== null) found.set(key, path);
  return path;
}

/** True when `name` is on PATH. */
export function onPath(name: string): boolean {
  return whichOnce(name) !== null;
}
