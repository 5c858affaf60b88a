/**
 * The messages a DHCP client sends (RFC 2131 4.4): DISCOVER, REQUEST when selecting an
 * offer, REQUEST when renewing or rebinding a lease, RELEASE; and the checks on what
 * comes back. Pure: the caller supplies the transaction id.
 */
import { FLAG_BROADCAST, ZERO_IP, getOption, newMessage, setOption, type DhcpMessage, BOOTREPLY } from "./message.ts";
import { DHCPDISCOVER, DHCPRELEASE, DHCPREQUEST, OPT_CLIENT_ID, OPT_MESSAGE_TYPE, OPT_PARAM_REQUEST_LIST, OPT_REQUESTED_IP, OPT_SERVER_ID } from "./options.ts";

/** Who the client is and what it sends with every request. */
export interface ClientIdentity {
  mac: Uint8Array;
  /** containerID/netName/ifName, sent as client identifier type 0. */
  clientID: string;
  /** Options from `provide` and the parameter request list (options.ts prepareOptions). */
  options: Map<number, Uint8Array>;
  /** Ask servers to broadcast replies (the daemon's -broadcast). */
  broadcast: boolean;
}

/** The reference's client id: "containerID/netName/ifName", cut to 254 bytes so the option fits (RFC 2132 9.14). */
export function clientIDFor(containerID: string, netName: string, ifName: string): string {
  const id = `${containerID}/${netName}/${ifName}`;
  const b = new TextEncoder().encode(id);
  return b.length > 254 ? new TextDecoder().decode(b.subarray(0, 254)) : id;
}

/** Option 61 with type 0 (not a hardware address), as the reference sends it. */
function clientIDOption(clientID: string): Uint8Array {
  const b = new TextEncoder().encode(clientID);
  const out = new Uint8Array(1 + b.length);
  out.set(b, 1);
  return out;
}

function base(id: ClientIdentity, xid: number, type: number, fields: Partial<DhcpMessage> = {}): DhcpMessage {
  const m = newMessage({ xid, chaddr: id.mac, flags: id.broadcast ? FLAG_BROADCAST : 0, ...fields });
  setOption(m, OPT_MESSAGE_TYPE, new Uint8Array([type]));
  setOption(m, OPT_CLIENT_ID, clientIDOption(id.clientID));
  return m;
}

/** Provided options may replace the client id (the reference applies them after it); the request list goes last. */
function withOptions(m: DhcpMessage, id: ClientIdentity): DhcpMessage {
  for (const [code, data] of id.options) if (code !== OPT_PARAM_REQUEST_LIST) setOption(m, code, data);
  const prl = id.options.get(OPT_PARAM_REQUEST_LIST);
  if (prl) setOption(m, OPT_PARAM_REQUEST_LIST, prl);
  return m;
}

/** DHCPDISCOVER, broadcast from 0.0.0.0. */
export function discover(id: ClientIdentity, xid: number): DhcpMessage {
  return withOptions(base(id, xid, DHCPDISCOVER), id);
}

/** DHCPREQUEST taking `offer`: requested address and server identifier set, ciaddr zero (SELECTING). */
export function requestOffer(id: ClientIdentity, xid: number, offer: DhcpMessage): DhcpMessage {
  const m = base(id, xid, DHCPREQUEST);
  setOption(m, OPT_REQUESTED_IP, offer.yiaddr);
  const server = getOption(offer, OPT_SERVER_ID);
  if (server) setOption(m, OPT_SERVER_ID, server);
  return withOptions(m, id);
}

/** DHCPREQUEST extending a lease: ciaddr set, no server identifier nor requested address (RENEWING, REBINDING). */
export function requestExtend(id: ClientIdentity, xid: number, ip: Uint8Array): DhcpMessage {
  return withOptions(base(id, xid, DHCPREQUEST, { ciaddr: ip, flags: 0 }), id);
}

/** DHCPRELEASE of `ip` to the server that granted it. */
export function release(id: ClientIdentity, xid: number, ip: Uint8Array, server: Uint8Array | undefined): DhcpMessage {
  const m = base(id, xid, DHCPRELEASE, { ciaddr: ip, flags: 0 });
  if (server) setOption(m, OPT_SERVER_ID, server);
  return m;
}

/** The message type (option 53), or undefined. */
export function messageType(m: DhcpMessage): number | undefined {
  return getOption(m, OPT_MESSAGE_TYPE)?.[0];
}

/** True when `m` is a server's reply of one of `types` to transaction `xid` of the client with `mac`. */
export function isReply(m: DhcpMessage, xid: number, mac: Uint8Array, types: readonly number[]): boolean {
  if (m.op !== BOOTREPLY || m.xid !== xid) return false;
  if (m.chaddr.length < mac.length || !mac.every((b, i) => m.chaddr[i] === b)) return false;
  const t = messageType(m);
  return t !== undefined && types.includes(t);
}

export { ZERO_IP };
