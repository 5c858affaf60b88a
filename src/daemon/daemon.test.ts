import { afterAll, describe, expect, test } from "bun:test";
import { lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callDaemon, ownNetns, probeDaemon, request } from "./client.ts";
import { cniEnvOf, decodeAnswer, decodeRequest, encodeAnswer, encodeRequest } from "./protocol.ts";
import { AbandonedError, serveDaemon } from "./server.ts";

const root = mkdtempSync(join(tmpdir(), "cni-ts-daemon-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const sockPath = () => join(root, `d${++n}`, "daemon.sock");

const ENV = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c1", CNI_NETNS: "/var/run/netns/x", CNI_IFNAME: "eth0", CNI_ARGS: "", CNI_PATH: "/opt/cni/bin" };

/** A child process listening on `path` that is then killed: its socket file stays behind. */
async function staleSocket(path: string): Promise<void> {
  mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
  const p = Bun.spawn(
    [process.execPath, "-e", `Bun.listen({unix: ${JSON.stringify(path)}, socket: {data() {}}}); console.log("up"); setInterval(() => {}, 1000)`],
    { stdout: "pipe" },
  );
  const reader = p.stdout.getReader();
  await reader.read();
  p.kill("SIGKILL");
  await p.exited;
}

describe("protocol", () => {
  test("request: env and config as Multus's shim sends them (config base64 like Go's []byte)", () => {
    const config = new Uint8Array([0x7b, 0x7d, 0xff, 0x00]);
    const body = encodeRequest({ env: ENV, config });
    expect(JSON.parse(body)).toEqual({ env: ENV, config: "e33/AA==" });
    const back = decodeRequest(body);
    expect(back.env).toEqual(ENV);
    expect([...back.config]).toEqual([...config]);
  });

  test("request: Go's null or missing config is empty; bad shapes are refused", () => {
    expect(decodeRequest(`{"env":{"CNI_COMMAND":"VERSION"},"config":null}`).config.length).toBe(0);
    expect(decodeRequest(`{"env":{"CNI_COMMAND":"VERSION"}}`).config.length).toBe(0);
    expect(() => decodeRequest(`{"env":{}}`)).toThrow("no CNI_COMMAND");
    expect(() => decodeRequest(`{"env":{"CNI_COMMAND":1}}`)).toThrow(`env "CNI_COMMAND" is not a string`);
    expect(() => decodeRequest(`{"env":{"CNI_COMMAND":"ADD"},"config":"%%"}`)).toThrow("not standard base64");
    expect(() => decodeRequest(`[1]`)).toThrow("not an object");
  });

  test("only CNI_* variables travel", () => {
    expect(cniEnvOf({ ...ENV, PATH: "/bin", CNI_NETNS_OVERRIDE: "1", HOME: undefined })).toEqual({ ...ENV, CNI_NETNS_OVERRIDE: "1" });
  });

  test("answer: exact stdout, stderr and exit status; Multus's Result on a successful ADD", () => {
    const a = { exitCode: 0, stdout: '{\n    "cniVersion": "1.0.0"\n}', stderr: "warn\n" };
    const body = encodeAnswer(a, "ADD");
    expect(JSON.parse(body).Result).toEqual({ cniVersion: "1.0.0" });
    expect(decodeAnswer(" " + body)).toEqual(a);
    expect(JSON.parse(encodeAnswer(a, "DEL")).Result).toBeUndefined();
    expect(decodeAnswer(`{"error":"x"}`)).toBeUndefined();
    expect(decodeAnswer(`not json`)).toBeUndefined();
  });
});

describe("client and server", () => {
  test("round trip: the handler gets env and stdin bytes; the client gets exactly its answer", async () => {
    const path = sockPath();
    const seen: unknown[] = [];
    const d = await serveDaemon(path, {
      async cni(req) {
        seen.push({ env: req.env, config: new TextDecoder().decode(req.config) });
        return { exitCode: 0, stdout: `{"ok":"${req.env.CNI_CONTAINERID}"}\n`, stderr: "note\n" };
      },
    });
    try {
      expect(lstatSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(join(path, "..")).mode & 0o777).toBe(0o700);
      const r = await callDaemon(path, { env: ENV, config: new TextEncoder().encode(`{"cniVersion":"1.0.0"}`) });
      expect(r).toEqual({ kind: "answer", answer: { exitCode: 0, stdout: `{"ok":"c1"}\n`, stderr: "note\n" } });
      expect(seen).toEqual([{ env: ENV, config: `{"cniVersion":"1.0.0"}` }]);
    } finally {
      await d.stop();
    }
    expect(() => lstatSync(path)).toThrow();
  });

  test("network namespace: the client says its own; another one is refused before anything runs, a missing one as the daemon says", async () => {
    const own = await ownNetns();
    expect(own).toMatch(/^\d+:\d+$/);
    const seen: (string | undefined)[] = [];
    const handlers = { cni: async (req: { netns?: string }) => (seen.push(req.netns), { exitCode: 0, stdout: "ran", stderr: "" }) };
    const multusLike = await serveDaemon(sockPath(), handlers);
    const strict = await serveDaemon(sockPath(), handlers, { noNetns: "refuse", name: "strict" });
    try {
      for (const d of [multusLike, strict]) {
        expect(await callDaemon(d.socketPath, { env: ENV, config: new Uint8Array() })).toMatchObject({ kind: "answer", answer: { stdout: "ran" } });
        const other = await callDaemon(d.socketPath, { env: ENV, config: new Uint8Array(), netns: "4:1" });
        expect(other).toMatchObject({ kind: "unreachable", accepted: false });
        if (other.kind === "unreachable")
          expect(other.reason).toBe(
            `daemon refused the request (421): ${d === strict ? "strict" : "daemon"}: refused ADD container=c1 ifname=eth0: request from network namespace 4:1, this daemon runs in ${own}`,
          );
      }
      // Multus's Go shim sends no namespace: the Multus daemon takes it, `cni-ts daemon` does not.
      const body = encodeRequest({ env: ENV, config: new Uint8Array() });
      expect((await request(multusLike.socketPath, "POST", "/cni", body)).status).toBe(200);
      const bare = await request(strict.socketPath, "POST", "/cni", body);
      expect(bare.status).toBe(421);
      expect(JSON.parse(bare.body).error).toContain("without its network namespace (X-Cni-Ts-Netns)");
      expect(seen).toEqual([own, own, undefined]);
    } finally {
      await multusLike.stop();
      await strict.stop();
    }
  });

  test("a CNI error comes back with its code and exit status 1", async () => {
    const path = sockPath();
    const err = JSON.stringify({ cniVersion: "1.0.0", code: 7, msg: "bad config" }, null, 4);
    const d = await serveDaemon(path, { cni: async () => ({ exitCode: 1, stdout: err, stderr: "" }) });
    try {
      const r = await callDaemon(path, { env: ENV, config: new Uint8Array() });
      expect(r).toEqual({ kind: "answer", answer: { exitCode: 1, stdout: err, stderr: "" } });
    } finally {
      await d.stop();
    }
  });

  test("a handler that throws answers code 999 in the config's version", async () => {
    const path = sockPath();
    const d = await serveDaemon(path, {
      cni: async () => {
        throw new Error("boom");
      },
    });
    try {
      const r = await callDaemon(path, { env: ENV, config: new TextEncoder().encode(`{"cniVersion":"0.4.0"}`) });
      expect(r.kind).toBe("answer");
      if (r.kind !== "answer") return;
      expect(r.answer.exitCode).toBe(1);
      expect(JSON.parse(r.answer.stdout)).toEqual({ cniVersion: "0.4.0", code: 999, msg: "boom" });
    } finally {
      await d.stop();
    }
  });

  test("a command the handler abandons (its thread died) ends without an answer: the client runs it itself", async () => {
    const path = sockPath();
    const d = await serveDaemon(path, {
      cni: async () => {
        throw new AbandonedError("worker 0 exited while running the command");
      },
    });
    try {
      const r = await callDaemon(path, { env: ENV, config: new Uint8Array() });
      expect(r).toMatchObject({ kind: "unreachable", accepted: true });
    } finally {
      await d.stop();
    }
  });

  test("concurrent requests each get their own answer", async () => {
    const path = sockPath();
    const d = await serveDaemon(path, {
      async cni(req) {
        await Bun.sleep(Number(req.env.CNI_CONTAINERID) % 7);
        return { exitCode: 0, stdout: req.env.CNI_CONTAINERID!, stderr: "" };
      },
    });
    try {
      const rs = await Promise.all(
        Array.from({ length: 30 }, (_, i) => callDaemon(path, { env: { ...ENV, CNI_CONTAINERID: String(i) }, config: new Uint8Array() })),
      );
      expect(rs.map((r) => (r.kind === "answer" ? r.answer.stdout : r.reason))).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    } finally {
      await d.stop();
    }
  });

  test("the status line goes out before the work, so a slow command is not mistaken for a dead daemon", async () => {
    const path = sockPath();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const d = await serveDaemon(path, {
      async cni() {
        await gate;
        return { exitCode: 0, stdout: "late", stderr: "" };
      },
    });
    try {
      const body = encodeRequest({ env: ENV, config: new Uint8Array() });
      let got = "";
      let headSeen!: () => void;
      const head = new Promise<void>((r) => (headSeen = r));
      let closed!: () => void;
      const end = new Promise<void>((r) => (closed = r));
      await Bun.connect({
        unix: path,
        socket: {
          open(s) {
            s.write(`POST /cni HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
          },
          data(_s, chunk) {
            got += new TextDecoder().decode(chunk);
            if (got.includes("\r\n\r\n")) headSeen();
          },
          close() {
            closed();
          },
        },
      });
      await head;
      expect(got).toStartWith("HTTP/1.1 200");
      expect(got).not.toContain("late");
      open();
      await end;
      expect(got).toContain(`"stdout":"late"`);
    } finally {
      await d.stop();
    }
  });

  test("healthz, readyz, other routes and a bad request", async () => {
    const path = sockPath();
    let ready = false;
    const d = await serveDaemon(path, {
      cni: async () => ({ exitCode: 0, stdout: "", stderr: "" }),
      ready: () => ready,
      route: (req) => (new URL(req.url).pathname === "/extra" ? new Response("extra") : undefined),
    });
    try {
      expect(await probeDaemon(path)).toBe(true);
      expect(await probeDaemon(path, "/readyz")).toBe(false);
      ready = true;
      expect(await probeDaemon(path, "/readyz")).toBe(true);
      expect(await request(path, "GET", "/extra", "")).toEqual({ status: 200, body: "extra" });
      expect((await request(path, "GET", "/nope", "")).status).toBe(404);
      const bad = await request(path, "POST", "/cni", `{"env":{}}`);
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.body).error).toContain("no CNI_COMMAND");
      // A refused request ran nothing: the caller may run the plugin itself.
      const r = await callDaemon(path, { env: {}, config: new Uint8Array() });
      expect(r).toMatchObject({ kind: "unreachable", accepted: false });
    } finally {
      await d.stop();
    }
  });

  test("no socket: unreachable at once, without a connect", async () => {
    const r = await callDaemon(join(root, "none", "daemon.sock"), { env: ENV, config: new Uint8Array() });
    expect(r).toMatchObject({ kind: "unreachable", accepted: false });
    if (r.kind === "unreachable") expect(r.reason).toContain("no daemon socket");
  });

  test("stale socket of a killed daemon: the client reports unreachable; a new daemon replaces it", async () => {
    const path = sockPath();
    await staleSocket(path);
    expect(lstatSync(path).isSocket()).toBe(true);
    const r = await callDaemon(path, { env: ENV, config: new Uint8Array() });
    expect(r).toMatchObject({ kind: "unreachable", accepted: false });
    const d = await serveDaemon(path, { cni: async () => ({ exitCode: 0, stdout: "fresh", stderr: "" }) });
    try {
      expect(await callDaemon(path, { env: ENV, config: new Uint8Array() })).toMatchObject({ kind: "answer", answer: { stdout: "fresh" } });
      // A live daemon is never taken over.
      await expect(serveDaemon(path, { cni: async () => ({ exitCode: 0, stdout: "", stderr: "" }) })).rejects.toThrow("another daemon answers there");
    } finally {
      await d.stop();
    }
  });

  test("a daemon that accepts but never answers: unreachable after the ack timeout", async () => {
    const path = sockPath();
    mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
    const l = Bun.listen({ unix: path, socket: { data() {} } });
    try {
      const r = await callDaemon(path, { env: ENV, config: new Uint8Array() }, { ackTimeoutMs: 100 });
      expect(r).toMatchObject({ kind: "unreachable", accepted: false });
    } finally {
      l.stop(true);
    }
  });

  test("a daemon that dies after acknowledging: unreachable, marked accepted", async () => {
    const path = sockPath();
    mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
    const l = Bun.listen({
      unix: path,
      socket: {
        data(s) {
          s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n \r\n");
          setTimeout(() => s.end(), 20);
        },
      },
    });
    try {
      const r = await callDaemon(path, { env: ENV, config: new Uint8Array() });
      expect(r).toMatchObject({ kind: "unreachable", accepted: true });
    } finally {
      l.stop(true);
    }
  });

  test("refuses a directory others can enter, and a path that is not a socket", async () => {
    const open = join(root, "open");
    mkdirSync(open, { mode: 0o755 });
    await expect(serveDaemon(join(open, "d.sock"), { cni: async () => ({ exitCode: 0, stdout: "", stderr: "" }) })).rejects.toThrow("must be owned by uid");
    const dir = join(root, "plain");
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, "d.sock"), "");
    await expect(serveDaemon(join(dir, "d.sock"), { cni: async () => ({ exitCode: 0, stdout: "", stderr: "" }) })).rejects.toThrow("not a socket");
  });
});
