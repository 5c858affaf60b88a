import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RpcServerError, rpcCall } from "./rpc-client.ts";
import { CMD_ARGS, EMPTY, RESULT } from "./rpc-schema.ts";
import { serveRpc, type RpcServer } from "./rpc-server.ts";

let dir = "";
let server: RpcServer | undefined;
afterEach(() => {
  server?.stop();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ARGS = { ContainerID: "c1", Netns: "/run/netns/x", IfName: "eth0", Args: "", Path: "/opt/cni/bin", StdinData: new TextEncoder().encode("{}") };

describe("rpc over a unix socket", () => {
  test("a call reaches the method with its arguments and returns the reply", async () => {
    dir = mkdtempSync(join(tmpdir(), "dhcp-rpc-"));
    const sock = join(dir, "sub", "dhcp.sock");
    let seen: unknown;
    server = await serveRpc(sock, {
      "DHCP.Allocate": async (args) => {
        seen = args;
        return {
          type: RESULT,
          value: { CNIVersion: "1.0.0", IPs: [{ Address: { IP: new Uint8Array([10, 0, 0, 5]), Mask: new Uint8Array([255, 255, 255, 0]) } }] },
        };
      },
      "DHCP.Release": async () => {
        throw new Error("nothing to release");
      },
    });
    const reply = await rpcCall(sock, "DHCP.Allocate", { type: CMD_ARGS, args: ARGS });
    expect((seen as { ContainerID: string }).ContainerID).toBe("c1");
    expect(reply).toEqual({
      CNIVersion: "1.0.0",
      IPs: [{ Address: { IP: new Uint8Array([10, 0, 0, 5]), Mask: new Uint8Array([255, 255, 255, 0]) } }],
      DNS: {},
    });
    expect(rpcCall(sock, "DHCP.Release", { type: CMD_ARGS, args: ARGS })).rejects.toThrow(new RpcServerError("nothing to release"));
    expect(rpcCall(sock, "DHCP.Nope", { type: CMD_ARGS, args: ARGS })).rejects.toThrow("rpc: can't find method DHCP.Nope");
  });

  test("a stale socket file is replaced, a live one is refused", async () => {
    dir = mkdtempSync(join(tmpdir(), "dhcp-rpc-"));
    const sock = join(dir, "dhcp.sock");
    const first = await serveRpc(sock, { "X.Y": async () => ({ type: EMPTY, value: {} }) });
    expect(serveRpc(sock, {})).rejects.toThrow("another daemon is listening there");
    first.stop();
    Bun.write(sock, "");
    server = await serveRpc(sock, { "X.Y": async () => ({ type: EMPTY, value: {} }) });
    expect(await rpcCall(sock, "X.Y", { type: CMD_ARGS, args: ARGS })).toEqual({});
  });

  test("dialing a missing socket fails", async () => {
    expect(rpcCall("/nonexistent/dhcp.sock", "DHCP.Allocate", { type: CMD_ARGS, args: ARGS })).rejects.toThrow();
  });
});
