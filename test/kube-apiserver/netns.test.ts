import { expect } from "bun:test";
import { rootTest, withNetns } from "../helpers/netns.ts";
import { hasKubectl, Kubectl } from "./kubectl.ts";
import { startKubeApiServer } from "./server.ts";

rootTest(
  "netns option: the server listens inside a namespace the test made, reachable there only",
  async () => {
    await withNetns(
      1,
      async (ns) => {
        ns.exec(["ip", "link", "set", "lo", "up"]);
        const srv = await startKubeApiServer({ netns: ns.path });
        try {
          const port = String(srv.port);
          expect(ns.exec(["ss", "-Hltn", `sport = :${port}`])).toContain(`127.0.0.1:${port}`);
          if (hasKubectl) {
            const k = new Kubectl(srv.kubeconfig);
            try {
              const inside = await k.run(["get", "namespaces", "-o", "name"], { netns: ns.name });
              expect(inside.stdout).toBe("namespace/default\nnamespace/kube-node-lease\nnamespace/kube-public\nnamespace/kube-system\n");
              const outside = await k.run(["get", "nodes", "--request-timeout=2s"]);
              expect(outside.stderr).toContain(`The connection to the server 127.0.0.1:${port} was refused`);
            } finally {
              k.close();
            }
          }
        } finally {
          await srv.stop();
        }
      },
      "kapi",
    );
  },
  30_000,
);
