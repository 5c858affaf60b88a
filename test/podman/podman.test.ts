/**
 * podman 4.3 (CNI backend) running real containers on our plugins and on the Go plugins:
 * the same scenario (test/podman/scenario.ts) in two sandboxes (test/podman/podman-env.ts),
 * one whose cni_plugin_dirs is a dir of links to dist/cni-ts, one /usr/lib/cni, run side
 * by side; every feature is checked on both and the two are compared.
 */
import { describe, expect, test } from "bun:test";
import { installedBinDir } from "../helpers/dist.ts";
import { GO_PLUGINS } from "../helpers/plugin-run.ts";
import { PodmanEnv, podmanSkipReason } from "./podman-env.ts";
import { runScenario, type Outcome } from "./scenario.ts";

const TIMEOUT = 240_000;
const reason = podmanSkipReason();

let pending: Promise<{ go: Outcome; ours: Outcome }> | undefined;

/** Both runs, made once for all the tests of this file. */
function outcomes(): Promise<{ go: Outcome; ours: Outcome }> {
  pending ??= (async () => {
    const bin = installedBinDir();
    const envs: PodmanEnv[] = [];
    try {
      envs.push(await PodmanEnv.create({ pluginDir: GO_PLUGINS, label: "go" }), await PodmanEnv.create({ pluginDir: bin.dir, label: "ours" }));
      const [go, ours] = await Promise.all(envs.map(runScenario));
      console.log(`podman suite stage times (ms): go ${JSON.stringify(go!.times)}; ours ${JSON.stringify(ours!.times)}`);
      return { go: go!, ours: ours! };
    } finally {
      await Promise.all(envs.map((e) => e.destroy()));
      bin.cleanup();
    }
  })();
  return pending;
}

/** The checks whose name starts with `prefix`. */
function checksOf(o: Outcome, prefix: string): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o.checks)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  );
}

/** Each run saw `want` (a subset of the checks under `prefix`), and ours saw what the Go plugins saw. */
async function feature(prefix: string, want: (o: Outcome) => void): Promise<void> {
  const { go, ours } = await outcomes();
  want(go);
  want(ours);
  expect(checksOf(ours, prefix)).toEqual(checksOf(go, prefix));
}

/** Each run saw exactly the checks `want` under `prefix`, and ours saw what the Go plugins saw. */
function featureIs(prefix: string, want: Record<string, unknown>): Promise<void> {
  return feature(prefix, (o) => expect(checksOf(o, prefix)).toEqual(want));
}

if (reason) {
  console.warn(`podman suite skipped: ${reason}`);
  describe("podman (CNI backend)", () => {
    test.skip(`podman suite (skipped: ${reason})`, () => {});
  });
} else {
  describe("podman 4.3 (CNI backend) on our plugins, as on the Go plugins", () => {
    test(
      "podman's configuration is the sandbox's: only its default network at first",
      () => feature("setup: ", (o) => expect(o.checks["setup: networks podman knows"]).toEqual(["podman"])),
      TIMEOUT,
    );

    test(
      "default network: container to container, to the gateway, to the node, masquerade out",
      () =>
        featureIs("default: ", {
          "container to container": "c1",
          "to the gateway": true,
          "to the node": true,
          "masquerade out (ext has no route back)": true,
        }),
      TIMEOUT,
    );

    test(
      "-p: from the node, another host, another container, hairpin to itself; -p 127.0.0.1: the node's loopback only",
      () =>
        featureIs("ports: ", {
          "from the node": "c1",
          "from another host": "c1",
          "from another container": "c1",
          "hairpin to itself": "c1",
          "127.0.0.1 from the node": "c1",
          "127.0.0.1 not from another host": "",
          "127.0.0.1 not from another container": "",
        }),
      TIMEOUT,
    );

    test(
      "network create with a subnet: --ip and --mac-address in the container; a duplicate --ip refused with host-local's message",
      async () => {
        await featureIs("create: ", {
          "--ip and --mac-address": { ip: "10.89.7.50", mac: "02:00:0a:59:07:32" },
          "address and MAC in the container": true,
          "MAC in the container": "02:00:0a:59:07:32",
        });
        const { go, ours } = await outcomes();
        expect(go.duplicate.code).not.toBe(0);
        expect(go.duplicate.msg).toContain("requested IP address 10.89.7.50 is not available in range set 10.89.7.1-10.89.7.254");
        expect(ours.duplicate).toEqual(go.duplicate);
      },
      TIMEOUT,
    );

    test("--network none: only lo", () => feature("none: ", (o) => expect(o.checks["none: only lo"]).toEqual(["lo"])), TIMEOUT);

    test(
      "two networks on one container: an address and a default route on each, both reachable, out",
      () =>
        feature("two networks: ", (o) => {
          expect(o.checks["two networks: addresses"]).toEqual(["10.88.0.4", "10.89.7.51"]);
          expect(o.checks["two networks: routes"]).toEqual(expect.arrayContaining(["default via 10.88.0.1 dev eth*", "default via 10.89.7.1 dev eth*"]));
          expect([
            o.checks["two networks: reaches the default network"],
            o.checks["two networks: reaches the other network"],
            o.checks["two networks: out"],
          ]).toEqual(["c1", "c3", true]);
        }),
      TIMEOUT,
    );

    test(
      "network connect / disconnect on a running container: a second interface and default route, then gone with its reservation",
      async () => {
        await feature("connect: ", (o) => {
          expect(o.checks["connect: addresses"]).toEqual(["10.88.0.3", "10.89.7.52"]);
          expect(o.checks["connect: routes"]).toEqual(expect.arrayContaining(["default via 10.88.0.1 dev eth*", "default via 10.89.7.1 dev eth*"]));
          expect(o.checks["connect: reaches the other network"]).toBe("c3");
        });
        await featureIs("disconnect: ", {
          links: ["eth0", "lo"],
          routes: ["10.88.0.0/16 dev eth* scope link  src 10.88.0.3", "default via 10.88.0.1 dev eth*"],
          "still on the default network": "c1",
          "netx reservations": ["networks/netx/10.89.7.50", "networks/netx/10.89.7.51"],
        });
      },
      TIMEOUT,
    );

    test(
      "--internal: container to container, no way out, no default route",
      () =>
        featureIs("internal: ", {
          "container to container": "c7",
          "no way out": false,
          routes: ["10.89.9.0/24 dev eth* scope link  src 10.89.9.2"],
        }),
      TIMEOUT,
    );

    test(
      "--ipv6 dual stack: both addresses, IPv6 and IPv4 port maps, IPv6 masquerade",
      () =>
        featureIs("ipv6: ", {
          addresses: ["10.89.8.2", "fd00:89:8::2"],
          "port map from another host (IPv6)": "c8",
          "port map from another host (IPv4)": "c8",
          "port map from another container (IPv4)": "c8",
          "masquerade out (IPv6)": true,
          "container to the gateway (IPv6)": true,
        }),
      TIMEOUT,
    );

    test(
      "restart and network reload: the container's rules once, not twice, and its port map works",
      async () => {
        await feature("restart: ", (o) => expect(o.checks["restart: port map from another host"]).toBe("c1"));
        await feature("reload: ", (o) => expect(o.checks["reload: port map from another host"]).toBe("c1"));
        const { go, ours } = await outcomes();
        for (const o of [go, ours]) {
          expect(o.c1Rules.before).toBeGreaterThan(0);
          expect(o.c1Rules).toEqual({ before: o.c1Rules.before, afterRestart: o.c1Rules.before, afterReload: o.c1Rules.before });
          for (const stage of ["running", "restarted", "reloaded"]) {
            let table = "";
            const rules = o.tables[stage]!.flatMap((l) => (l.startsWith("ip") ? ((table = l), []) : l.startsWith("-A ") ? [`${table} ${l}`] : []));
            expect(rules.length).toBe(new Set(rules).size);
          }
        }
        expect(ours.c1Rules).toEqual(go.c1Rules);
      },
      TIMEOUT,
    );

    /**
     * podman 4.3 sets up a container's networks in Go map order, which differs run to run,
     * so in the chains every network shares (POSTROUTING, CNI-FORWARD, ...) the rules of
     * one container's networks come in either order. Those chains are compared as sets;
     * per-container chains (normalised as NAME[net/<cN>]) keep their order.
     */
    function podmanOrderFree(lines: string[]): string[] {
      let table = ""; // "ip4 *nat": the scenario labels each table with its family
      const out: string[] = [];
      const shared: string[] = [];
      for (const l of lines) {
        if (/^ip[46] \*/.test(l)) table = l;
        if (/^-A [^\s[]+ /.test(l)) shared.push(`${table} ${l}`);
        else out.push(l);
      }
      return [...out, ...shared.sort()];
    }

    test(
      "the node's iptables and ip6tables at every stage are the Go plugins' rule for rule",
      async () => {
        const { go, ours } = await outcomes();
        expect(Object.keys(ours.tables)).toEqual(["running", "connected", "restarted", "reloaded", "stopped"]);
        for (const stage of Object.keys(go.tables)) {
          expect({ stage, rules: podmanOrderFree(ours.tables[stage]!) }).toEqual({ stage, rules: podmanOrderFree(go.tables[stage]!) });
        }
      },
      TIMEOUT,
    );

    test(
      "after stop, rm and network rm: no veth, namespace, reservation, cached result or per-container rule; the node as the Go plugins leave it",
      async () => {
        const { go, ours } = await outcomes();
        for (const o of [go, ours]) {
          const { before, after } = o;
          // The default network's bridge stays (the bridge plugin never deletes one, podman cannot remove its default network).
          expect(after.links).toEqual([...before.links, "cni-podman0 bridge"].sort());
          expect(after.addrs).toEqual([...before.addrs, "cni-podman0 10.88.0.1/16"].sort());
          expect(after.netns).toEqual([]);
          expect(after.state.filter((p) => /^networks\/[^/]+\/[0-9a-f.:]+$/.test(p))).toEqual([]);
          expect(after.state.filter((p) => p.startsWith("results/") && p !== "results/")).toEqual([]);
          expect(after.state.filter((p) => p.startsWith("firewall"))).toEqual([]);
          expect(after.iptables.filter((l) => /<c\d|10\.8[89]\.|fd00:89:|CNI-(DN|MASQ)\[/.test(l))).toEqual([]);
          expect(after.nft.filter((l) => /10\.8[89]\.|fd00:89:|<c\d/.test(l))).toEqual([]);
        }
        // Our own state lives under cni-ts/, nowhere the reference's tools look: host-local's owner
        // index in /var/lib/cni, and in /run the shim's page-cache mark (src/shim/cni-ts-shim.c).
        const notOurs = (paths: string[]) => paths.filter((p) => !p.startsWith("cni-ts/"));
        expect({ ...ours.after, state: notOurs(ours.after.state), run: notOurs(ours.after.run) }).toEqual(go.after);
        expect(ours.before).toEqual(go.before);
      },
      TIMEOUT,
    );
  });
}
