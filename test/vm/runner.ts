/**
 * Runs a command inside a VM on Debian's stock kernel (QEMU, software emulation: this
 * host's /dev/kvm cannot run a stock kernel), for the tests that need kernel features
 * this host lacks. The guest runs the host's own root, shared over 9p and entered
 * with switch_root, so it sees the repository (and everything else) at the same paths;
 * /run, /tmp and /dev/shm are tmpfs inside the guest (no unix sockets on 9p). The
 * command's output and exit status come back through a shared control directory.
 * One boot runs one command: give it the whole set of tests at once.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { ensureImage, type VmImage } from "./image.ts";

const QEMU = "qemu-system-x86_64";

/** Modules loaded at boot, so a test never waits on autoloading under emulation. */
const PRELOAD = ["veth", "bridge", "8021q", "ipvlan", "vrf", "dummy", "tun"];

/** What a run gave back. */
export interface VmResult {
  /** Exit status of the command; null when it did not finish. */
  status: number | null;
  output: string;
  timedOut: boolean;
  /** Serial console (kernel and init messages), for diagnosing a failed boot. */
  console: string;
  ms: number;
}

export interface VmOptions {
  /** Working directory in the guest (a host path: the guest shares the host's root). */
  cwd: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  memoryMB?: number;
  cpus?: number;
  /** Files the command writes into $VM_OUT (a directory) come back under these names. */
  collect?: string[];
  log?: (line: string) => void;
}

/** Why the VM cannot run here, or undefined when it can (it may still fail to make its image). */
export function vmUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (the guest uses the host's root over 9p)";
  if (process.arch !== "x64") return `needs x86-64 (this is ${process.arch})`;
  const q = spawnSync(QEMU, ["--version"], { encoding: "utf8" });
  if (q.error || q.status !== 0) return `${QEMU} is not installed (Debian qemu-system-x86; scripts/setup.sh installs it)`;
  for (const tool of ["/bin/busybox", "/usr/bin/apt-get", "/usr/bin/dpkg-deb", "/usr/bin/xz"]) {
    if (!existsSync(tool)) return `${tool} is missing (scripts/setup.sh installs busybox-static and xz-utils)`;
  }
  return undefined;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The script the guest runs after switch_root, from the host's root. */
function guestScript(cmd: string[], opts: VmOptions): string {
  const env = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/root",
    CNI_TS_IN_VM: "1",
    VM_OUT: "/run/vm/ctl/out",
    ...opts.env,
  };
  return (
    [
      "mount -t tmpfs -o mode=1777 tmpfs /tmp",
      "mkdir -p /dev/shm /dev/pts && mount -t tmpfs tmpfs /dev/shm && mount -t devpts devpts /dev/pts",
      "mount -t proc proc /run/vm/mods/proc && mount --bind /sys /run/vm/mods/sys",
      // Kernel autoloading runs this through the modules share (the host has no module tree).
      `printf '#!/bin/sh\\nexec /usr/sbin/chroot /run/vm/mods /bin/busybox modprobe "$@"\\n' > /run/vm/modprobe`,
      "chmod 0755 /run/vm/modprobe && echo /run/vm/modprobe > /proc/sys/kernel/modprobe",
      `/run/vm/modprobe -a ${PRELOAD.join(" ")} || echo "vm: modprobe failed"`,
      "ip link set lo up",
      "mkdir -p /run/vm/ctl/out",
      `cd ${quote(opts.cwd)} || exit 1`,
      `env -i ${Object.entries(env)
        .map(([k, v]) => quote(`${k}=${v}`))
        .join(" ")} ${cmd.map(quote).join(" ")} > /run/vm/ctl/output 2>&1 < /dev/null`,
      "echo $? > /run/vm/ctl/status.tmp && mv /run/vm/ctl/status.tmp /run/vm/ctl/status",
      "sync",
      "exec /bin/busybox poweroff -f",
    ].join("\n") + "\n"
  );
}

function qemuArgs(img: VmImage, ctl: string, opts: VmOptions): string[] {
  const share = (id: string, path: string, tag: string, ro = false) => [
    "-fsdev",
    `local,id=${id},path=${path},security_model=none${ro ? ",readonly=on" : ""}`,
    "-device",
    `virtio-9p-pci,fsdev=${id},mount_tag=${tag}`,
  ];
  return [
    "-nodefaults",
    "-no-user-config",
    "-nographic",
    "-no-reboot",
    "-machine",
    "pc",
    "-accel",
    "tcg,thread=multi",
    "-cpu",
    "max",
    "-smp",
    String(opts.cpus ?? 2),
    "-m",
    String(opts.memoryMB ?? 2048),
    "-kernel",
    img.kernel,
    "-initrd",
    img.initrd,
    "-append",
    "console=ttyS0 quiet panic=-1 rdinit=/init tsc=reliable mitigations=off",
    "-serial",
    `file:${join(ctl, "console.log")}`,
    ...share("hostroot", "/,multidevs=remap", "hostroot"),
    ...share("ctl", ctl, "ctl"),
    ...share("mods", img.modRoot, "modules", true),
  ];
}

const running = new Set<import("bun").Subprocess>();
process.on("exit", () => {
  for (const p of running) p.kill("SIGKILL");
});

/** Boots the VM, runs `cmd` in it (in opts.cwd, as root), and returns its output and status. */
export async function runInVm(cmd: string[], opts: VmOptions): Promise<VmResult & { files: Record<string, string> }> {
  const log = opts.log ?? (() => {});
  const img = ensureImage(log);
  const ctl = mkdtempSync(join(tmpdir(), "cni-ts-vm-ctl-"));
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const read = (f: string) => (existsSync(join(ctl, f)) ? readFileSync(join(ctl, f), "utf8") : "");
  try {
    writeFileSync(join(ctl, "guest.sh"), guestScript(cmd, opts));
    const proc = Bun.spawn([QEMU, ...qemuArgs(img, ctl, opts)], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    running.add(proc);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill("SIGKILL");
    }, timeoutMs);
    // The guest powers off after writing its status; a status without an exit (a hung
    // poweroff) still ends the run.
    let grace: ReturnType<typeof setTimeout> | undefined;
    const poll = setInterval(() => {
      if (!grace && existsSync(join(ctl, "status"))) grace = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    }, 500);
    const [qemuOut, qemuErr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    clearTimeout(grace);
    clearInterval(poll);
    running.delete(proc);
    const statusText = read("status").trim();
    const files: Record<string, string> = {};
    for (const f of opts.collect ?? []) files[f] = read(join("out", f));
    const consoleLog = read("console.log") + (qemuOut || qemuErr ? `\n[qemu] ${qemuOut}${qemuErr}` : "");
    return {
      status: statusText === "" ? null : Number(statusText),
      output: read("output"),
      timedOut,
      console: consoleLog,
      ms: Date.now() - started,
      files,
    };
  } finally {
    rmSync(ctl, { recursive: true, force: true });
  }
}
