import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findMasterConfig, generateThin, startAutoConfig } from "./auto-conf.ts";

const dir = mkdtempSync(join(tmpdir(), "cni-ts-multus-auto-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("thin: the first config that is not ours is the master, inlined with its capabilities and the kubeconfig", () => {
  const d = mkdtempSync(join(dir, "a-"));
  writeFileSync(join(d, "00-multus.conf"), "{}");
  writeFileSync(
    join(d, "10-flannel.conflist"),
    JSON.stringify({
      cniVersion: "0.3.1",
      name: "cbr0",
      plugins: [
        { type: "flannel", delegate: { isDefaultGateway: true } },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    }),
  );
  writeFileSync(join(d, "20-other.conf"), JSON.stringify({ cniVersion: "0.3.1", name: "x", type: "bridge" }));
  const master = findMasterConfig(d)!;
  expect(master).toBe(join(d, "10-flannel.conflist"));
  const [name, text] = generateThin(
    { cniConfDir: d, kubeconfig: "/etc/cni/net.d/multus.d/multus.kubeconfig", namespaceIsolation: true, readinessIndicatorFile: "/run/flannel/subnet.env" },
    master,
  );
  expect(name).toBe("00-multus.conf");
  expect(JSON.parse(text)).toEqual({
    cniVersion: "0.3.1",
    name: "multus-cni-network",
    type: "multus",
    capabilities: { portMappings: true },
    namespaceIsolation: true,
    readinessindicatorfile: "/run/flannel/subnet.env",
    kubeconfig: "/etc/cni/net.d/multus.d/multus.kubeconfig",
    delegates: [JSON.parse(readFileSync(master, "utf8"))],
  });
  expect(() => generateThin({ cniConfDir: d, kubeconfig: "k", cniVersion: "1.0.0" }, master)).toThrow(
    'Multus cni version is "1.0.0" while master plugin cni version is "0.3.1"',
  );
});

test("thin, watched: 1.0.0 makes a .conflist; a change of the master rewrites it; no stale form is left; stop removes it", async () => {
  const d = mkdtempSync(join(dir, "b-"));
  const masterPath = join(d, "10-br.conf");
  writeFileSync(masterPath, JSON.stringify({ cniVersion: "0.4.0", name: "br", type: "bridge" }));
  const auto = await startAutoConfig({ mode: "thin", pollMs: 50, thin: { cniConfDir: d, kubeconfig: "/k" } });
  expect(auto.path()).toBe(join(d, "00-multus.conf"));
  writeFileSync(masterPath, JSON.stringify({ cniVersion: "1.0.0", name: "br", type: "bridge", capabilities: { ips: true } }));
  const end = Date.now() + 3000;
  while (!existsSync(join(d, "00-multus.conflist")) && Date.now() < end) await Bun.sleep(20);
  const list = JSON.parse(readFileSync(join(d, "00-multus.conflist"), "utf8"));
  expect(list).toMatchObject({ cniVersion: "1.0.0", name: "multus-cni-network", plugins: [{ type: "multus", capabilities: { ips: true }, kubeconfig: "/k" }] });
  expect(list.plugins[0].delegates[0].cniVersion).toBe("1.0.0");
  expect(existsSync(join(d, "00-multus.conf"))).toBe(false);
  auto.stop();
  expect(existsSync(join(d, "00-multus.conflist"))).toBe(false);
});
