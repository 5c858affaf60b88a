import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt } from "../../test/helpers/dist.ts";
import { bind, closeDetached, libcBackend, socket, unmapAfterExit } from "./libc.ts";
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

/**
 * Runs the script `source(dir)` returns as a child Bun process (a plugin process's
 * stand-in), `dir` a temp dir of its own for files the script uses; returns what it printed
 * as JSON. stdout is read to EOF: a task that kept its copy of the descriptor table would
 * hold the pipe open. The child must exit 0.
 */
async function inChild<T>(prefix: string, source: (dir: string) => string): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    const script = join(dir, "child.ts");
    writeFileSync(script, source(dir));
    const child = Bun.spawn([process.execPath, script], { stdout: "pipe", stderr: "pipe" });
    const out = await new Response(child.stdout).text();
    expect(await child.exited).toBe(0);
    return JSON.parse(out) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("closeDetached", () => {
  test.skipIf(libcBackend() !== "addon")(
    "in a short-lived process: the fd is gone at once, a task of its own holds the socket until the process has exited, then closes it; stdout reaches EOF",
    async () => {
      const r = await inChild<{ ino: number; fdGone: boolean; listed: boolean }>(
        "cni-ts-closedet-",
        () => `import { bind, closeDetached, detachedSendsAsProcess, socket } from ${JSON.stringify(join(import.meta.dir, "libc.ts"))};
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
      expect(r.fdGone).toBe(true);
      // Still open while the process lived: the task holds the last reference.
      expect(r.listed).toBe(true);
      // Closed by the task once the process has gone.
      expect(await eventually(() => !netlinkInodes().has(r.ino))).toBe(true);
    },
  );

  test.skipIf(libcBackend() !== "addon")(
    "in a long-lived process (the daemon, a CLI run): the socket is held past nf_tables' destroy work (a grace period), then closed while the process lives",
    async () => {
      const fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
      bind(fd, NL_ANY);
      const ino = statFd(fd).ino;
      closeDetached(fd);
      // The closing thread sleeps 100 ms first: at 30 ms it cannot have closed it.
      await Bun.sleep(30);
      expect(netlinkInodes().has(ino)).toBe(true);
      expect(await eventually(() => !netlinkInodes().has(ino))).toBe(true);
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

/** The state letter of /proc/PID/stat ("S", "Z", ...), or undefined when there is no such task. */
function taskState(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
  } catch {
    return undefined;
  }
}

describe("unmapAfterExit", () => {
  test.skipIf(libcBackend() !== "addon")(
    "in a plugin process: a task that shares its memory (not a copy, not a thread) outlives it, then ends; stdout reaches EOF",
    async () => {
      const r = await inChild<{ task: number; self: number; tgid: number; sharesMemory: boolean; aliveAfter200ms: boolean }>("cni-ts-unmap-", (dir) => {
        const mapped = join(dir, "mapped-after-the-task-started");
        writeFileSync(mapped, "x".repeat(4096));
        return `import { detachedSendsAsProcess, unmapAfterExit } from ${JSON.stringify(join(import.meta.dir, "libc.ts"))};
import { readFileSync } from "node:fs";
detachedSendsAsProcess();
const task = unmapAfterExit();
// A mapping made after the task started is in the task's memory only if the two share it (a fork's copy would not have it).
const view = Bun.mmap(${JSON.stringify(mapped)});
const status = (pid) => Object.fromEntries(readFileSync("/proc/" + pid + "/status", "utf8").trim().split("\\n").map((l) => l.split(":\\t")));
const sharesMemory = readFileSync("/proc/" + task + "/maps", "utf8").includes(${JSON.stringify(mapped)});
await Bun.sleep(200);
console.log(JSON.stringify({ task, self: process.pid, tgid: Number(status(task).Tgid), sharesMemory, aliveAfter200ms: status(task).State[0] === "S", bytes: view.length }));
process.exit(0);
`;
      });
      expect(r.task).toBeGreaterThan(0);
      // A process of its own (not one of the process's threads, which its exit would take along)...
      expect(r.tgid).toBe(r.task);
      expect(r.tgid).not.toBe(r.self);
      // ...with the process's memory, waiting for the process to exit.
      expect(r.sharesMemory).toBe(true);
      expect(r.aliveAfter200ms).toBe(true);
      // Once the process has exited the task ends (then the reaper takes it, or it waits as a zombie).
      expect(await eventually(() => taskState(r.task) === undefined || taskState(r.task) === "Z")).toBe(true);
    },
  );

  test("in a long-lived process (a daemon, the test runner): nothing is arranged", () => {
    expect(unmapAfterExit()).toBe(0);
  });
});

describe("settleTasks", () => {
  test.skipIf(libcBackend() !== "addon")(
    "once it returns, a plugin process's tasks hold none of its descriptors and run on all its CPUs, stdout reaches EOF at the exit",
    async () => {
      // No wait between the tasks' start and settleTasks: a task started on this CPU has not run before this process blocks.
      const r = await inChild<{ task: number; fds: string[]; cpus: string; own: string }>(
        "cni-ts-settle-",
        () => `import { bind, closeDetached, detachedSendsAsProcess, settleTasks, socket, unmapAfterExit } from ${JSON.stringify(join(import.meta.dir, "libc.ts"))};
import { readdirSync, readFileSync } from "node:fs";
detachedSendsAsProcess();
const cpus = (pid) => readFileSync("/proc/" + pid + "/status", "utf8").match(/Cpus_allowed_list:\\s*(\\S+)/)[1];
const fd = socket(${AF_NETLINK}, ${SOCK_RAW}, ${NETLINK_NETFILTER});
bind(fd, new Uint8Array(${JSON.stringify([...NL_ANY])}));
closeDetached(fd);
const task = unmapAfterExit();
settleTasks();
const fds = readdirSync("/proc/" + task + "/fd").map((n) => readFileSync("/proc/" + task + "/fdinfo/" + n, "utf8").includes("pid:") ? "pidfd" : n);
console.log(JSON.stringify({ task, fds, cpus: cpus(task), own: cpus(process.pid) }));
process.exit(0);
`,
      );
      expect(r.task).toBeGreaterThan(0);
      // The unmapping task holds its pidfd of the process and nothing else: not stdout, not the socket's copy.
      expect(r.fds).toEqual(["pidfd"]);
      // Started on the process's CPU, it took the process's CPUs back.
      expect(r.cpus).toBe(r.own);
    },
  );
});
