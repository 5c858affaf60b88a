/**
 * Go's net/rpc over HTTP (rpc.DialHTTP / rpc.HandleHTTP): the client sends an HTTP
 * CONNECT for /_goRPC_, the server answers with a fixed status line, and from then on
 * the connection carries gob: a Request header and the argument per call, a Response
 * header and the reply per answer.
 */

/** net/rpc's DefaultRPCPath. */
export const RPC_PATH = "/_goRPC_";

/** What rpc.DialHTTP writes. */
export const CONNECT_REQUEST = `CONNECT ${RPC_PATH} HTTP/1.0\n\n`;

/** The status rpc.DialHTTP insists on ("200 Connected to Go RPC"). */
export const CONNECTED_STATUS = "200 Connected to Go RPC";

/** What rpc.HandleHTTP answers to a CONNECT. */
export const CONNECTED_RESPONSE = `HTTP/1.0 ${CONNECTED_STATUS}\n\n`;

/**
 * Splits an HTTP head (request or response line and headers) off the front of `buf`:
 * the head's lines and the bytes after it, or undefined until the blank line arrived.
 */
export function splitHead(buf: Uint8Array): { lines: string[]; rest: Uint8Array } | undefined {
  for (let i = 0; i + 1 < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    // "\n\n" or "\n\r\n": Go writes bare newlines, other HTTP peers CRLF.
    const end = buf[i + 1] === 0x0a ? i + 2 : buf[i + 1] === 0x0d && buf[i + 2] === 0x0a ? i + 3 : -1;
    if (end < 0) continue;
    const text = new TextDecoder().decode(buf.subarray(0, i));
    return { lines: text.split("\n").map((l) => l.replace(/\r$/, "")), rest: buf.subarray(end) };
  }
  if (buf.length > 8192) throw new Error("Cannot read HTTP head: longer than 8192 bytes");
  return undefined;
}

/** Appends a chunk to a buffer. */
export function append(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The part of a Bun socket the writer needs. */
interface Writable {
  write(data: Uint8Array): number;
}

/**
 * Writes through a Bun socket, keeping what the kernel did not take (write returns
 * fewer bytes when the socket buffer is full) until the socket's drain handler calls
 * drain().
 */
export class SocketWriter {
  #pending: Uint8Array = new Uint8Array(0);
  readonly #socket: Writable;
  constructor(socket: Writable) {
    this.#socket = socket;
  }

  write(data: Uint8Array): void {
    this.#pending = this.#pending.length ? append(this.#pending, data) : data;
    this.drain();
  }

  drain(): void {
    if (!this.#pending.length) return;
    const n = this.#socket.write(this.#pending);
    this.#pending = this.#pending.subarray(Math.max(n, 0));
  }
}
