import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { auxiliaryChain, isAuxiliaryChain } from "./aux-chain.ts";
import { loadNetConf } from "./conf.ts";
import { Logger } from "./log.ts";

const dir = mkdtempSync(join(tmpdir(), "cni-ts-aux-chain-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const k8s = { K8S_POD_NAMESPACE: "ns", K8S_POD_NAME: "p", K8S_POD_UID: "u", K8S_POD_INFRA_CONTAINER_ID: "" };

function conf(sub: string, chain: string, files: Record<string, string>, clusterNetwork = join(dir, sub, "10-net.conflist")) {
  mkdirSync(join(dir, sub, chain), { recursive: true });
  for (const [f, body] of Object.entries(files)) writeFileSync(join(dir, sub, chain, f), body);
  return loadNetConf(JSON.stringify({ cniVersion: "1.0.0", name: "m", type: "multus", clusterNetwork, auxiliaryCNIChainName: chain }));
}

function logged(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger().configure({ logLevel: "error" });
  log.sink = (l) => lines.push(l);
  return { log, lines };
}

test("the chain: passthru first, then the folder's .conf files by name, in the config's version", () => {
  const n = conf("a", "vendor", {
    "20-b.conf": JSON.stringify({ cniVersion: "1.0.0", name: "b", type: "tuning" }),
    "10-a.conf": JSON.stringify({ cniVersion: "1.0.0", name: "a", type: "sbr" }),
    "30-c.json": JSON.stringify({ cniVersion: "1.0.0", name: "c", type: "ignored" }),
  });
  const d = auxiliaryChain(n, k8s, logged().log)!;
  expect(d.name).toBe("vendor");
  expect(d.confList!.cniVersion).toBe("1.0.0");
  expect(d.confList!.plugins.map((p) => p.type)).toEqual(["passthru", "sbr", "tuning"]);
  expect(d.confList!.plugins.map((p) => p.name)).toEqual(["passthru-cni", "a", "b"]);
  expect(d.masterPlugin).toBe(false);
  expect(isAuxiliaryChain(d)).toBe(true);
});

test("none configured, or an empty folder: no chain", () => {
  const none = loadNetConf(JSON.stringify({ cniVersion: "1.0.0", type: "multus", clusterNetwork: join(dir, "x.conf") }));
  expect(auxiliaryChain(none, k8s, logged().log)).toBeUndefined();
  expect(auxiliaryChain(conf("b", "empty", {}), k8s, logged().log)).toBeUndefined();
});

test("clusterNetwork that is not a path is refused with Multus's message", () => {
  const n = conf("c", "vendor", {}, "cbr0");
  expect(() => auxiliaryChain(n, k8s, logged().log)).toThrow(
    "Multus: [ns/p/u]: auxiliary chain used but ClusterNetwork must be a path, and it is not a path: cbr0",
  );
});

test("a chain that cannot be loaded is logged and left out, as Multus does", () => {
  const broken = logged();
  expect(auxiliaryChain(conf("d", "vendor", { "10-x.conf": "{not json" }), k8s, broken.log)).toBeUndefined();
  expect(broken.lines.join("")).toContain('[error] LoadChainedDelegatesFromBytes: auxiliary chain "vendor": ');
  const badName = logged();
  const n = loadNetConf(JSON.stringify({ cniVersion: "1.0.0", type: "multus", clusterNetwork: join(dir, "x.conf"), auxiliaryCNIChainName: "../up" }));
  expect(auxiliaryChain(n, k8s, badName.log)).toBeUndefined();
  expect(badName.lines.join("")).toContain("invalid characters found in network name");
});
