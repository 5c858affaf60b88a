/**
 * Where DHCP messages go in and out: a transport per exchange. The real one is a
 * packet socket on the pod's interface; tests script a server instead.
 */
import type { DhcpMessage } from "./message.ts";

/** A message received, with the hardware address of the frame's sender. */
export interface Received {
  msg: DhcpMessage;
  srcMac: Uint8Array;
}

/** Where a message goes: broadcast, or unicast to a server whose MAC we learned. */
export type Destination = { broadcast: true } | { ip: Uint8Array; mac: Uint8Array };

/** An open socket for one exchange; close() it afterwards. */
export interface DhcpTransport {
  /** The interface's hardware address (chaddr). */
  readonly mac: Uint8Array;
  /** Sends from `src` (0.0.0.0 before there is a lease). */
  send(msg: DhcpMessage, src: Uint8Array, to: Destination): void;
  /** The first message `accept` takes within `timeoutMs`, or undefined. */
  receive(timeoutMs: number, accept: (m: DhcpMessage) => boolean, signal?: AbortSignal): Promise<Received | undefined>;
  close(): void;
}

/** The interface a lease belongs to. */
export interface LeaseLink {
  /** Opens a transport on the interface (bringing it up first, as the reference does). */
  open(): DhcpTransport;
  /** False once the interface or its namespace is gone. */
  exists(): boolean;
  /** Sets the interface down (the reference's answer to an expired lease). */
  setDown(): void;
}
