import { describe, expect } from "bun:test";
import { writeFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootTest, withNetns } from "../../test/helpers/netns.ts";
import { NetNS, NetNSError, currentPath, isCurrentNetns, isSameNetns, namespaceTypeOf, withNetNSPath } from "./netns.ts";

const inode = (p: string) => statSync(p).ino;

describe("NetNS", () => {
  rootTest("open checks the path is a network namespace", () => {
    expect(() => NetNS.open("/nonexistent/netns")).toThrow(NetNSError);
    try {
      NetNS.open("/nonexistent/netns");
    } catch (e) {
      expect((e as NetNSError).code).toBe("ENOENT");
      expect((e as Error).message).toBe('Cannot use network namespace "/nonexistent/netns": no such file');
    }
    const file = join(tmpdir(), `cnits-notns-${process.pid}`);
    writeFileSync(file, "x");
    try {
      expect(() => NetNS.open(file)).toThrow(/not a namespace file/);
    } finally {
      rmSync(file);
    }
    // A namespace of another kind: the mount namespace.
    try {
      NetNS.open("/proc/self/ns/mnt");
      throw new Error("accepted a mount namespace");
    } catch (e) {
      expect((e as NetNSError).code).toBe("ENOTNETNS");
      expect((e as Error).message).toMatch(/not a network namespace \(type 0x20000\)/);
    }
  });

  rootTest("runIn switches for synchronous work and always switches back", async () => {
    await withNetns(1, (t) => {
      const before = inode(currentPath());
      const ns = NetNS.open(t.path);
      try {
        expect(ns.runIn(() => inode(currentPath()))).toBe(inode(t.path));
        expect(inode(currentPath())).toBe(before);
        expect(() =>
          ns.runIn(() => {
            throw new Error("boom");
          }),
        ).toThrow("boom");
        expect(inode(currentPath())).toBe(before);
        // An async fn is refused, and the thread is back home before the refusal.
        expect(() => ns.runIn(async () => 1)).toThrow(/synchronous work only/);
        expect(inode(currentPath())).toBe(before);
        expect(ns.runIn((n) => isCurrentNetns(n.path))).toBe(true);
        expect(isCurrentNetns(t.path)).toBe(false);
      } finally {
        ns.close();
      }
      expect(() => ns.fd).toThrow(/already closed/);
      ns.close();
    });
  });

  rootTest("equals and isSameNetns compare namespaces, not paths", async () => {
    await withNetns(2, (a, b) => {
      using na = NetNS.open(a.path);
      using na2 = NetNS.open(a.path);
      using nb = NetNS.open(b.path);
      expect(na.equals(na2)).toBe(true);
      expect(na.equals(nb)).toBe(false);
      expect(isSameNetns(a.path, a.path)).toBe(true);
      expect(isSameNetns(a.path, b.path)).toBe(false);
      using cur = NetNS.current();
      expect(isSameNetns(cur.path, "/proc/self/ns/net")).toBe(true);
    });
  });

  rootTest("withNetNSPath opens, runs and closes", async () => {
    await withNetns(1, (t) => {
      expect(withNetNSPath(t.path, () => inode(currentPath()))).toBe(inode(t.path));
    });
  });

  rootTest("namespaceTypeOf names the kind of a namespace file, bind mounts too", async () => {
    expect(namespaceTypeOf("/proc/self/ns/net")).toBe("net");
    expect(namespaceTypeOf("/proc/self/ns/mnt")).toBe("mnt");
    expect(namespaceTypeOf("/proc/self/ns/uts")).toBe("uts");
    await withNetns(1, (t) => expect(namespaceTypeOf(t.path)).toBe("net"));
    const file = join(tmpdir(), `cnits-nstype-${process.pid}`);
    writeFileSync(file, "");
    try {
      expect(namespaceTypeOf(file)).toBeUndefined();
      expect(Bun.spawnSync(["mount", "--bind", "/proc/self/ns/uts", file]).exitCode).toBe(0);
      try {
        expect(namespaceTypeOf(file)).toBe("uts");
      } finally {
        Bun.spawnSync(["umount", file]);
      }
    } finally {
      rmSync(file);
    }
    expect(namespaceTypeOf("/nonexistent/netns")).toBeUndefined();
  });
});
