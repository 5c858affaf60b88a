/**
 * A file's identity and type through statx(2): what the per-exec path needs of a stat
 * without node:fs, whose set-up costs a plugin process about 2 ms and 5 MB at start.
 * The struct statx layout is the same on every architecture.
 */
import { AT_SYMLINK_NOFOLLOW, fstatx, statx, tryStatx } from "./libc.ts";

/** What a stat tells: `dev` is "major:minor", comparable between two FileStats. */
export interface FileStat {
  dev: string;
  ino: number;
  /** st_mode: type and permission bits. */
  mode: number;
  size: number;
  /** How many names the file has (hard links). */
  nlink: number;
}

const STATX_TYPE = 0x1;
const STATX_MODE = 0x2;
const STATX_NLINK = 0x4;
const STATX_INO = 0x100;
const STATX_SIZE = 0x200;

/** statx of `path`, following a symlink unless `follow: false`; throws ErrnoError ("ENOENT", ...). */
export function statPath(path: string, opts: { follow?: boolean } = {}): FileStat {
  const buf = new Uint8Array(256);
  statx(path, opts.follow === false ? AT_SYMLINK_NOFOLLOW : 0, STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO | STATX_SIZE, buf);
  return fileStatOf(buf);
}

/** statx of an open file descriptor: what statPath(`/proc/self/fd/${fd}`) gives, without walking procfs; throws ErrnoError. */
export function statFd(fd: number): FileStat {
  const buf = new Uint8Array(256);
  fstatx(fd, STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO | STATX_SIZE, buf);
  return fileStatOf(buf);
}

function fileStatOf(buf: Uint8Array): FileStat {
  const v = new DataView(buf.buffer);
  // struct statx: stx_nlink u32 at 16, stx_mode u16 at 28, stx_ino u64 at 32, stx_size u64 at 40, stx_dev_major/minor u32 at 136/140.
  return {
    mode: v.getUint16(28, true),
    nlink: v.getUint32(16, true),
    ino: u64(v, 32),
    size: u64(v, 40),
    dev: `${v.getUint32(136, true)}:${v.getUint32(140, true)}`,
  };
}

/** What says a file changed: inode and the nanosecond modification and change times (as node:fs's bigint stat gives them). */
export interface FileTimes {
  ino: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

const STATX_CTIME = 0x80;
const STATX_MTIME = 0x40;

/** statx of `path` for its inode and times (following a symlink); throws ErrnoError. */
export function statTimes(path: string): FileTimes {
  const buf = new Uint8Array(256);
  statx(path, 0, STATX_INO | STATX_CTIME | STATX_MTIME, buf);
  const v = new DataView(buf.buffer);
  // struct statx_timestamp { s64 tv_sec; u32 tv_nsec; }: stx_ctime at 96, stx_mtime at 112.
  const ns = (at: number) => v.getBigInt64(at, true) * 1_000_000_000n + BigInt(v.getUint32(at + 8, true));
  return { ino: v.getBigUint64(32, true), mtimeNs: ns(112), ctimeNs: ns(96) };
}

/** A little-endian u64 as a number (exact below 2^53), without a BigInt. */
function u64(v: DataView, at: number): number {
  return v.getUint32(at, true) + v.getUint32(at + 4, true) * 2 ** 32;
}

/** True for a regular file. */
export function isRegularFile(st: FileStat): boolean {
  return (st.mode & 0o170000) === 0o100000;
}

/** The type bits (mode & 0o170000) of what is at `path`, a symlink itself (not followed); undefined when the stat fails (nothing there). */
export function typeAt(path: string): number | undefined {
  const buf = new Uint8Array(256);
  if (tryStatx(path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, buf) !== 0) return undefined;
  return (buf[28]! | (buf[29]! << 8)) & 0o170000;
}

/** True when something is at `path` (a symlink counts by its target, as existsSync); any failure of the stat is false. */
export function pathExists(path: string): boolean {
  return tryStatx(path, 0, STATX_TYPE, new Uint8Array(256)) === 0;
}
