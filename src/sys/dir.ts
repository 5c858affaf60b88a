/**
 * A directory's entry names through getdents64(2): node:fs's readdirSync makes a plugin
 * process load node:fs (about 2 ms), and a caller that only needs to know whether a
 * directory is small stops after a few entries, whatever its size.
 */
import { O_DIRECTORY, O_RDONLY, close, decodeUtf8, getdents64, open } from "./libc.ts";

/**
 * The names in directory `path` ("." and ".." left out), in the kernel's order; undefined
 * as soon as there are more than `limit`. Throws ErrnoError (ENOENT, ENOTDIR, ...).
 */
export function readDirNames(path: string, limit = Number.POSITIVE_INFINITY): string[] | undefined {
  const fd = open(path, O_RDONLY | O_DIRECTORY);
  try {
    // struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name NUL-terminated.
    const buf = new Uint8Array(limit < 64 ? 4096 : 32 * 1024);
    const view = new DataView(buf.buffer);
    const names: string[] = [];
    for (;;) {
      const n = getdents64(fd, buf);
      if (n === 0) return names;
      for (let at = 0; at < n; at += view.getUint16(at + 16, true)) {
        let end = at + 19;
        while (buf[end] !== 0) end++;
        const name = decodeUtf8(buf.subarray(at + 19, end));
        if (name === "." || name === "..") continue;
        if (names.length === limit) return undefined;
        names.push(name);
      }
    }
  } finally {
    close(fd);
  }
}
