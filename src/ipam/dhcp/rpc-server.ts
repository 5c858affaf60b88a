/**
 * The daemon side of the dhcp RPC: a net/rpc-over-HTTP server on a unix socket that
 * the Go reference plugin can call as well as ours. Calls on one connection run
 * concurrently and are answered as they finish, as Go's server does.
 */
import { existsSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { CONNECTED_RESPONSE, RPC_PATH, SocketWriter, append, splitHead } from "./_rpc-http.ts";
import { GobDecoder } from "./gob/decoder.ts";
import { GobEncoder } from "./gob/encoder.ts";
import type { GobStruct, GobValue } from "./gob/types.ts";
import { EMPTY, RESPONSE } from "./rpc-schema.ts";
import { errorMessage } from "../../spec/error.ts";

/** A method's answer: the reply value and its gob type. */
export interface RpcReply {
  type: GobStruct;
  value: Record<string, unknown>;
}

/** Methods by their net/rpc name ("DHCP.Allocate"); a thrown error's message goes back as Response.Error. */
export type RpcMethods = Record<string, (args: GobValue) => Promise<RpcReply>>;

/** A listening server; stop() closes it and removes the socket file. */
export interface RpcServer {
  stop(): void;
}

interface ConnState {
  head: Uint8Array | undefined;
  dec: GobDecoder;
  enc: GobEncoder;
  writer: SocketWriter;
  /** A Request header waiting for its argument. */
  header?: { ServiceMethod?: string; Seq?: number };
}

/**
 * Listens on `socketPath` (creating its directory with mode 0700, as the reference
 * does). A socket file left by a daemon that died is replaced; one that still answers
 * makes this fail with EADDRINUSE.
 */
export async function serveRpc(socketPath: string, methods: RpcMethods): Promise<RpcServer> {
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
  if (existsSync(socketPath)) await removeStaleSocket(socketPath);
  const listener = Bun.listen<ConnState>({
    unix: socketPath,
    socket: {
      open(s) {
        s.data = { head: new Uint8Array(0), dec: new GobDecoder(), enc: new GobEncoder(), writer: new SocketWriter(s) };
      },
      data(s, chunk) {
        try {
          onData(s.data, chunk, methods, () => s.end());
        } catch {
          // A peer that does not speak gob gets disconnected, as Go's server does.
          s.end();
        }
      },
      drain(s) {
        s.data.writer.drain();
      },
      error() {},
    },
  });
  return {
    stop() {
      listener.stop(true);
      try {
        unlinkSync(socketPath);
      } catch {
        // already gone
      }
    },
  };
}

function onData(conn: ConnState, chunk: Uint8Array, methods: RpcMethods, end: () => void): void {
  let bytes: Uint8Array = chunk;
  if (conn.head) {
    const split = splitHead(append(conn.head, chunk));
    if (!split) {
      conn.head = append(conn.head, chunk);
      return;
    }
    conn.head = undefined;
    const [verb, path] = (split.lines[0] ?? "").split(" ");
    if (verb !== "CONNECT" || path !== RPC_PATH) {
      conn.writer.write(new TextEncoder().encode("HTTP/1.0 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n405 must CONNECT\n"));
      end();
      return;
    }
    conn.writer.write(new TextEncoder().encode(CONNECTED_RESPONSE));
    bytes = split.rest;
  }
  for (const d of conn.dec.push(bytes)) {
    if (!conn.header) {
      conn.header = d.value as ConnState["header"];
      continue;
    }
    const header = conn.header!;
    conn.header = undefined;
    void answer(conn, header.ServiceMethod ?? "", header.Seq ?? 0, d.value, methods);
  }
}

async function answer(conn: ConnState, method: string, seq: number, args: GobValue, methods: RpcMethods): Promise<void> {
  let reply: RpcReply = { type: EMPTY, value: {} };
  let error = "";
  const fn = Object.hasOwn(methods, method) ? methods[method] : undefined;
  if (!fn) {
    error = method.includes(".") ? `rpc: can't find method ${method}` : `rpc: service/method request ill-formed: ${method}`;
  } else {
    try {
      reply = await fn(args);
    } catch (e) {
      error = errorMessage(e);
      // net/rpc sends an empty struct as the body of a failed call.
      reply = { type: EMPTY, value: {} };
    }
  }
  const out = append(conn.enc.encode(RESPONSE, { ServiceMethod: method, Seq: seq, Error: error }), conn.enc.encode(reply.type, reply.value));
  conn.writer.write(out);
}

/** Removes a socket file nobody listens on any more; throws when a daemon still answers there. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  try {
    const s = await Bun.connect({ unix: socketPath, socket: { data() {} } });
    s.end();
  } catch {
    unlinkSync(socketPath);
    return;
  }
  const e = new Error(`Cannot listen on ${JSON.stringify(socketPath)}: another daemon is listening there`) as Error & { code: string };
  e.code = "EADDRINUSE";
  throw e;
}
