/**
 * Messages of failures the Go plugins wrap with a prefix: ours carry the same text, so
 * operators (and tools that match them) see one message whichever plugin ran.
 */
import { describe, expect } from "bun:test";
import { rootTest } from "../helpers/netns.ts";
import { withNode } from "../helpers/node.ts";
import { GO_PLUGINS, ours, reference, runIn } from "../helpers/plugin-run.ts";

describe("the reference's error prefixes", () => {
  rootTest("bridge: a bridge holding another address (failed to set bridge addr: ...)", async () => {
    const msgs: string[] = [];
    for (const argv of [reference("bridge"), ours("bridge")]) {
      await withNode(1, (node, [pod], dataDir) => {
        node.exec(["ip", "link", "add", "cnimsg0", "type", "bridge"]);
        node.exec(["ip", "addr", "add", "10.46.0.77/24", "dev", "cnimsg0"]);
        const conf = {
          cniVersion: "1.0.0",
          name: "msgnet",
          type: "bridge",
          bridge: "cnimsg0",
          isGateway: true,
          ipam: { type: "host-local", dataDir, subnet: "10.46.0.0/24" },
        };
        const r = runIn(node, argv, { command: "ADD", netns: pod!.path, conf, path: GO_PLUGINS });
        expect(r.code).toBe(1);
        msgs.push(r.json.msg);
      });
    }
    expect(msgs[0]).toBe('failed to set bridge addr: "cnimsg0" already has an IP address different from 10.46.0.1/24');
    expect(msgs[1]).toBe(msgs[0]!);
  });

  // The Go plugin checks the master twice: reading the config (a bare "Link not found")
  // and creating the device ("failed to lookup master ..."); we check once and say which.
  rootTest("macvlan: a master that does not exist (failed to lookup master ...)", () =>
    withNode(1, (node, [pod], dataDir) => {
      const conf = {
        cniVersion: "1.0.0",
        name: "msgnet",
        type: "macvlan",
        master: "nosuchdev0",
        ipam: { type: "host-local", dataDir, subnet: "10.46.0.0/24" },
      };
      const [theirs, mine] = [reference("macvlan"), ours("macvlan")].map(
        (argv) => runIn(node, argv, { command: "ADD", netns: pod!.path, conf, path: GO_PLUGINS }).json?.msg,
      );
      expect(theirs).toBe("Link not found");
      expect(mine).toBe(`failed to lookup master "nosuchdev0": ${theirs}`);
    }),
  );
});
