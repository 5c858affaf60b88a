import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt } from "../../test/helpers/dist.ts";
import { bind, closeDetached, libcBackend, socket } from "./libc.ts";
import { statFd } from "./stat.ts";

ensureBuilt();

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const NETLINK_NETFILTER = 12;

/** sockaddr_nl for bind(2) with the port id left to the kernel: /proc/net/netlink lists bound sockets only. */
const NL_ANY = new Uint8Array([AF_NETLINK, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

/** The inodes of this namespace's netlink sockets (/proc/net/netlink's last column). */
function netlinkInodes(): Set<number> {
  const lines = readFileSync("/proc/net/netlink", "utf8").trim().split("\n").slice(1);
  const out = new Set<number>();
  for (const l of lines) out.add(Number(l.trim().split(/\s+/).at(-1)));
  return out;
}

/** Waits (up to 10 s) until `cond` holds; whether it did. */
async function eventually(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return true;
    await Bun.sleep(10);
  }
  return cond();
}

describe("closeDetached", () => {
  test.skipIf(libcBackend() !== "addon")(
    "in a short-lived process: the fd is gone at once, a task of its own holds the socket until the process has exited, then closes it; stdout reaches EOF",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "cni-ts-closedet-"));
      try {
        const script = join(dir, "child.ts");
        writeFileSync(
          script,
          `import { bind, closeDetached, detachedSendsAsProcess, socket } from ${JSON.stringify(join(import.meta.dir, "libc.ts"))};
import { statFd } from ${JSON.stringify(join(import.meta.dir, "stat.ts"))};
import { existsSync, readFileSync } from "node:fs";
detachedSendsAsProcess();
const fd = socket(${AF_NETLINK}, ${SOCK_RAW}, ${NETLINK_NETFILTER});
bind(fd, new Uint8Array(${JSON.stringify([...NL_ANY])}));
const ino = statFd(fd).ino;
closeDetached(fd);
const listed = readFileSync("/proc/net/netlink", "utf8").includes(" " + ino + "\\n");
console.log(JSON.stringify({ ino, fdGone: !existsSync("/proc/self/fd/" + fd), listed }));
await Bun.sleep(200);
`,
        );
        const child = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "pipe" });
        // Read to EOF: a task that kept its copy of the descriptor table would hold the pipe open.
        const out = await new Response(child.stdout).text();
        expect(await child.exited).toBe(0);
        const r = JSON.parse(out) as { ino: number; fdGone: boolean; listed: boolean };
        expect(r.fdGone).toBe(true);
        // Still open while the process lived: the task holds the last reference.
        expect(r.listed).toBe(true);
        // Closed by the task once the process has gone.
        expect(await eventually(() => !netlinkInodes().has(r.ino))).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test("in a long-lived process (a daemon, the test runner): the socket is closed, by a thread of its own with the addon", async () => {
    const fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
    bind(fd, NL_ANY);
    const ino = statFd(fd).ino;
    expect(netlinkInodes().has(ino)).toBe(true);
    closeDetached(fd);
    expect(await eventually(() => !existsSync(`/proc/self/fd/${fd}`) && !netlinkInodes().has(ino))).toBe(true);
  });
});
