/** resolv.conf to the DNS block of a result, as host-local's `resolvConf` option reads it. */
import { CniError, ErrorCode, errorMessage } from "../spec/error.ts";
import type { DNS } from "../spec/types.ts";
import { nodeFs } from "../sys/node-fs.ts";

/**
 * Parses resolv.conf text line by line as the reference does: comments (# or ;) and
 * lines with fewer than two words skipped; every nameserver, search and options line
 * appended; the last domain line wins.
 */
export function parseResolvConf(text: string): DNS {
  const dns: DNS = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line[0] === "#" || line[0] === ";") continue;
    const words = line.split(/\s+/);
    if (words.length < 2) continue;
    const [key, ...rest] = words as [string, ...string[]];
    if (key === "nameserver") (dns.nameservers ??= []).push(rest[0]!);
    else if (key === "domain") dns.domain = rest[0];
    else if (key === "search") (dns.search ??= []).push(...rest);
    else if (key === "options") (dns.options ??= []).push(...rest);
  }
  return dns;
}

/** Reads and parses a resolv.conf file; code 999 with the system's reason when it cannot be read. */
export function readResolvConf(path: string): DNS {
  let text: string;
  try {
    text = nodeFs().readFileSync(path, "utf8");
  } catch (e) {
    // Node says "ENOENT: no such file or directory, open '/x'"; Go says "open /x: no such file or directory".
    const reason = /^[A-Z]+: (.*?), open /.exec(errorMessage(e))?.[1] ?? errorMessage(e);
    throw new CniError(ErrorCode.Internal, `open ${path}: ${reason}`, { cause: e });
  }
  return parseResolvConf(text);
}
