/**
 * The VM's boot files, made from Debian packages and cached per kernel version: the
 * uncompressed `vmlinux` of `linux-image-amd64` (fetched with `apt-get download`, unpacked
 * with `dpkg-deb -x`, never installed), its module tree (shared read-only into the guest
 * for modprobe, with a static busybox beside it), and a busybox initramfs that loads the
 * virtio and 9p modules and switches to the host's root shared over 9p.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

/** What a boot needs. */
export interface VmImage {
  kver: string;
  /** Uncompressed ELF kernel (booted through its PVH entry: no in-guest decompression). */
  kernel: string;
  initrd: string;
  /** Root of the read-only share: lib/modules/<kver>, bin/busybox, proc/. */
  modRoot: string;
}

/** Modules the initramfs loads to reach the host's root (their dependencies come first). */
const BOOT_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "virtio_console"];
const BUSYBOX = "/bin/busybox";

/** Where images are kept: $CNI_TS_VM_CACHE, /var/cache/cni-ts-vm as root, else under $TMPDIR. */
export function cacheDir(): string {
  if (process.env.CNI_TS_VM_CACHE) return process.env.CNI_TS_VM_CACHE;
  return process.getuid?.() === 0 ? "/var/cache/cni-ts-vm" : join(tmpdir(), "cni-ts-vm");
}

function run(cmd: string[], opts: { cwd?: string; input?: Buffer | string } = {}): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: opts.cwd, input: opts.input, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd[0]} cannot run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} failed (${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** The versioned package behind linux-image-amd64 (`linux-image-6.1.0-56-amd64`), updating apt's lists once if it is unknown. */
function kernelPackage(): string {
  const find = () =>
    /Depends: (linux-image-[0-9][^\s]*)/.exec(spawnSync("apt-cache", ["depends", "linux-image-amd64"], { encoding: "utf8" }).stdout ?? "")?.[1];
  let pkg = find();
  if (!pkg) {
    run(["apt-get", "update", "-qq"]);
    pkg = find();
  }
  if (!pkg) throw new Error("apt knows no linux-image-amd64: cannot fetch a kernel for the VM");
  return pkg;
}

/** The ELF kernel inside a bzImage: the payload after the first compression magic the config names. */
function extractVmlinux(vmlinuz: string, config: string, out: string): void {
  const cfg = readFileSync(config, "utf8");
  const img = readFileSync(vmlinuz);
  const formats: [string, Buffer, string[]][] = [
    // busybox's xz lacks the x86 BCJ filter the kernel uses: xz-utils it is.
    ["XZ", Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), ["xz", "-dc", "--single-stream"]],
    ["GZIP", Buffer.from([0x1f, 0x8b, 0x08]), ["gzip", "-dc"]],
  ];
  for (const [name, magic, cmd] of formats) {
    if (!cfg.includes(`CONFIG_KERNEL_${name}=y`)) continue;
    for (let at = img.indexOf(magic); at >= 0; at = img.indexOf(magic, at + 1)) {
      const r = spawnSync(cmd[0]!, cmd.slice(1), { input: img.subarray(at), maxBuffer: 512 << 20 });
      const elf = r.stdout as Buffer | null;
      if (elf && elf.length > 1 << 20 && elf.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
        writeFileSync(out, elf);
        return;
      }
    }
  }
  throw new Error(`no ELF kernel found inside ${vmlinuz}`);
}

/** modules.dep of the tree (busybox depmod: the host may have no kmod). */
function moduleDeps(modDir: string): Map<string, { path: string; deps: string[] }> {
  const byName = new Map<string, { path: string; deps: string[] }>();
  const name = (p: string) =>
    p
      .split("/")
      .pop()!
      .replace(/\.ko(\.[a-z]+)?$/, "")
      .replace(/-/g, "_");
  for (const line of readFileSync(join(modDir, "modules.dep"), "utf8").split("\n")) {
    const [head, rest] = line.split(":");
    if (!head || rest === undefined) continue;
    byName.set(name(head), { path: head, deps: rest.trim().split(/\s+/).filter(Boolean).map(name) });
  }
  return byName;
}

/** Module paths (relative to the tree) in load order: dependencies first. */
function loadOrder(modDir: string, wanted: string[]): string[] {
  const deps = moduleDeps(modDir);
  const builtin = readFileSync(join(modDir, "modules.builtin"), "utf8");
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (m: string) => {
    if (seen.has(m)) return;
    seen.add(m);
    const d = deps.get(m);
    if (!d) {
      if (builtin.includes(`/${m.replace(/_/g, "?")}.ko`) || new RegExp(`/${m.replace(/_/g, "[-_]")}\\.ko`).test(builtin)) return;
      throw new Error(`kernel module "${m}" is neither in modules.dep nor built in`);
    }
    for (const x of d.deps) visit(x);
    order.push(d.path);
  };
  for (const m of wanted) visit(m);
  return order;
}

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.load); do insmod /modules/$(basename $m) || echo "vm: insmod $m failed"; done
mkdir -p /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose hostroot /newroot || { echo "vm: no host root"; poweroff -f; }
mount -t tmpfs -o mode=0755 tmpfs /newroot/run
mkdir -p /newroot/run/vm/ctl /newroot/run/vm/mods
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 ctl /newroot/run/vm/ctl
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose,ro modules /newroot/run/vm/mods
umount /proc /sys /dev
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
exec switch_root /newroot /bin/sh /run/vm/ctl/guest.sh
`;

/** The initramfs: busybox, the boot modules and /init, as a newc cpio. */
function buildInitrd(modDir: string, out: string): void {
  const dir = mkdtempSync(join(tmpdir(), "cni-ts-vm-initrd-"));
  try {
    for (const d of ["bin", "proc", "sys", "dev", "modules"]) mkdirSync(join(dir, d));
    copyFileSync(BUSYBOX, join(dir, "bin/busybox"));
    chmodSync(join(dir, "bin/busybox"), 0o755);
    symlinkSync("busybox", join(dir, "bin/sh"));
    const order = loadOrder(modDir, BOOT_MODULES);
    for (const p of order) copyFileSync(join(modDir, p), join(dir, "modules", p.split("/").pop()!));
    writeFileSync(join(dir, "modules.load"), order.join("\n") + "\n");
    writeFileSync(join(dir, "init"), INIT);
    chmodSync(join(dir, "init"), 0o755);
    const list = run(["find", "."], { cwd: dir });
    const r = spawnSync(BUSYBOX, ["cpio", "-o", "-H", "newc"], { cwd: dir, input: list, maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`cpio failed: ${r.stderr}`);
    writeFileSync(out, r.stdout as Buffer);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The cached image for the current linux-image-amd64, made on first use (about 400 MB, tens of seconds). */
export function ensureImage(log: (s: string) => void = () => {}): VmImage {
  const base = cacheDir();
  mkdirSync(base, { recursive: true });
  const pkg = kernelPackage();
  const kver = pkg.replace(/^linux-image-/, "");
  const dir = join(base, kver);
  const image: VmImage = { kver, kernel: join(dir, "vmlinux"), initrd: join(dir, "initrd.cpio"), modRoot: join(dir, "modroot") };
  if (existsSync(join(dir, "ready"))) return image;

  log(`vm: making the image for ${kver} in ${dir}`);
  // Built aside and renamed into place, so two runs at once never see half an image.
  const work = mkdtempSync(join(base, `.${kver}-`));
  try {
    run(["apt-get", "download", pkg], { cwd: work });
    const deb = readdirSync(work).find((f) => f.endsWith(".deb"));
    if (!deb) throw new Error(`apt-get download ${pkg} left no .deb`);
    const pkgRoot = join(work, "pkg");
    run(["dpkg-deb", "-x", join(work, deb), pkgRoot]);
    rmSync(join(work, deb));
    extractVmlinux(join(pkgRoot, "boot", `vmlinuz-${kver}`), join(pkgRoot, "boot", `config-${kver}`), join(work, "vmlinux"));

    const modRoot = join(work, "modroot");
    for (const d of ["lib/modules", "bin", "proc", "sys", "dev"]) mkdirSync(join(modRoot, d), { recursive: true });
    renameSync(join(pkgRoot, "lib/modules", kver), join(modRoot, "lib/modules", kver));
    copyFileSync(BUSYBOX, join(modRoot, "bin/busybox"));
    chmodSync(join(modRoot, "bin/busybox"), 0o755);
    run([BUSYBOX, "depmod", "-b", modRoot, kver]);
    rmSync(pkgRoot, { recursive: true, force: true });

    buildInitrd(join(modRoot, "lib/modules", kver), join(work, "initrd.cpio"));
    writeFileSync(join(work, "ready"), `${pkg}\n`);
    if (existsSync(dir) && !existsSync(join(dir, "ready"))) rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(work, dir);
    } catch (e) {
      if (!existsSync(join(dir, "ready"))) throw e;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return image;
}
