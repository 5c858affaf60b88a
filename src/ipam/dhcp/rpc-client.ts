/**
 * The plugin side of the dhcp daemon's RPC: one net/rpc call over the daemon's unix
 * socket, wire-compatible with the Go reference daemon. This is all a plugin run
 * loads of the DHCP code: a socket, the gob codec, no FFI.
 */
import { CONNECTED_STATUS, CONNECT_REQUEST, SocketWriter, append, splitHead } from "./_rpc-http.ts";
import { GobDecoder, type Decoded } from "./gob/decoder.ts";
import { GobEncoder } from "./gob/encoder.ts";
import type { GobStruct, GobValue } from "./gob/types.ts";
import { REQUEST } from "./rpc-schema.ts";

/** A failure the daemon reported (Response.Error), as opposed to one reaching it. */
export class RpcServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RpcServerError";
  }
}

/** Options of a call. */
export interface CallOptions {
  /** Gives up after this long; none by default (an ADD may wait for DHCP retries). */
  timeoutMs?: number;
}

/**
 * Calls `method` (e.g. "DHCP.Allocate") on the daemon at `socketPath` with `args`
 * encoded as `argsType`, and returns the decoded reply. Throws RpcServerError with the
 * daemon's text when the call failed there.
 */
export async function rpcCall(
  socketPath: string,
  method: string,
  call: { type: GobStruct; args: Record<string, unknown> },
  options: CallOptions = {},
): Promise<GobValue> {
  const enc = new GobEncoder();
  const request = append(enc.encode(REQUEST, { ServiceMethod: method, Seq: 0 }), enc.encode(call.type, call.args));
  const { promise, resolve, reject } = Promise.withResolvers<GobValue>();
  const dec = new GobDecoder();
  let head: Uint8Array | undefined = new Uint8Array(0);
  const got: Decoded[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writer: SocketWriter | undefined;

  const socket = await Bun.connect({
    unix: socketPath,
    socket: {
      data(s, chunk) {
        try {
          let bytes: Uint8Array = chunk;
          if (head) {
            const split = splitHead(append(head, chunk));
            if (!split) {
              head = append(head, chunk);
              return;
            }
            head = undefined;
            if (!split.lines[0]?.includes(CONNECTED_STATUS)) throw new Error(`unexpected HTTP response: ${split.lines[0]}`);
            // Only now: Go's server drops whatever arrived before it answered the CONNECT.
            writer?.write(request);
            bytes = split.rest;
          }
          got.push(...dec.push(bytes));
          if (got.length >= 2) {
            const header = got[0]!.value as { Error?: string };
            if (header.Error) reject(new RpcServerError(header.Error));
            else resolve(got[1]!.value);
            s.end();
          }
        } catch (e) {
          reject(e);
          s.end();
        }
      },
      drain() {
        writer?.drain();
      },
      close() {
        reject(new Error("connection closed before the reply"));
      },
      error(_s, e) {
        reject(e);
      },
    },
  });
  if (options.timeoutMs) {
    timer = setTimeout(() => {
      socket.end();
      reject(new Error(`no reply within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
  }
  writer = new SocketWriter(socket);
  writer.write(new TextEncoder().encode(CONNECT_REQUEST));
  try {
    return await promise;
  } finally {
    clearTimeout(timer);
  }
}
