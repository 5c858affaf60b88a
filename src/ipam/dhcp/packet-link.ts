/**
 * The real LeaseLink: an interface in a pod's namespace, reached through an AF_PACKET
 * socket opened inside that namespace (the kernel ties the socket to the namespace it
 * was created in, so later async use is safe). The namespace is opened by path for
 * every exchange rather than held: a lease must not keep a deleted pod's namespace
 * alive. Receiving polls the non-blocking socket, every 10 ms while an exchange waits.
 */
import { NetlinkHandle } from "../../netlink/handle.ts";
import { isUp, linkByName, linkSetDown, linkSetUp } from "../../netlink/link.ts";
import { isNotFound } from "../../netlink/error.ts";
import { parseMAC } from "../../netlink/mac.ts";
import { SOCK_NONBLOCK, bind, close, recvFrom, sendto, socket } from "../../sys/libc.ts";
import { NetNS, NetNSError } from "../../sys/netns.ts";
import { decodeMessage, encodeMessage, type DhcpMessage } from "./message.ts";
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, decodeUdpIp, encodeUdpIp } from "./packet.ts";
import type { Destination, DhcpTransport, LeaseLink, Received } from "./transport.ts";

const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const ETH_P_IP = 0x0800;
const SOCKADDR_LL_LEN = 20;
const POLL_MS = 10;
const BROADCAST_IP = new Uint8Array([255, 255, 255, 255]);
const BROADCAST_MAC = new Uint8Array([255, 255, 255, 255, 255, 255]);

/** struct sockaddr_ll for `ifindex` (and a destination MAC when sending). */
function sockaddrLL(ifindex: number, mac?: Uint8Array): Uint8Array {
  const b = new Uint8Array(SOCKADDR_LL_LEN);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_PACKET, true);
  v.setUint16(2, ETH_P_IP, false);
  v.setInt32(4, ifindex, true);
  if (mac) {
    b[11] = mac.length;
    b.set(mac, 12);
  }
  return b;
}

/** The interface `ifName` in the namespace at `netnsPath`. */
export function packetLink(netnsPath: string, ifName: string): LeaseLink {
  const handle = () => NetlinkHandle.atPath(netnsPath);
  return {
    open() {
      using h = handle();
      let link = linkByName(h, ifName);
      if (!isUp(link)) {
        linkSetUp(h, ifName);
        link = linkByName(h, ifName);
      }
      const ns = NetNS.open(netnsPath);
      let fd: number;
      try {
        fd = ns.runIn(() => socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, ((ETH_P_IP & 0xff) << 8) | (ETH_P_IP >> 8)));
      } finally {
        ns.close();
      }
      try {
        bind(fd, sockaddrLL(link.index));
      } catch (e) {
        close(fd);
        throw e;
      }
      return packetTransport(fd, link.index, parseMAC(link.mac));
    },
    exists() {
      try {
        using h = handle();
        linkByName(h, ifName);
        return true;
      } catch (e) {
        if (isNotFound(e) || (e instanceof NetNSError && e.code === "ENOENT")) return false;
        // Anything else (out of fds, a kernel hiccup) is not proof the interface is gone.
        return true;
      }
    },
    setDown() {
      using h = handle();
      linkSetDown(h, ifName);
    },
  };
}

function packetTransport(fd: number, ifindex: number, mac: Uint8Array): DhcpTransport {
  const buf = new Uint8Array(65536);
  let closed = false;
  return {
    mac,
    send(msg: DhcpMessage, src: Uint8Array, to: Destination) {
      const unicast = "ip" in to;
      const packet = encodeUdpIp({
        src,
        dst: unicast ? to.ip : BROADCAST_IP,
        srcPort: DHCP_CLIENT_PORT,
        dstPort: DHCP_SERVER_PORT,
        payload: encodeMessage(msg),
      });
      sendto(fd, packet, sockaddrLL(ifindex, unicast ? to.mac : BROADCAST_MAC));
    },
    async receive(timeoutMs, accept, signal): Promise<Received | undefined> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        if (closed || signal?.aborted) return undefined;
        for (let got = recvFrom(fd, buf, SOCKADDR_LL_LEN); got; got = recvFrom(fd, buf, SOCKADDR_LL_LEN)) {
          const udp = decodeUdpIp(buf.subarray(0, got.n));
          if (!udp || udp.dstPort !== DHCP_CLIENT_PORT || udp.srcPort !== DHCP_SERVER_PORT) continue;
          let msg: DhcpMessage;
          try {
            msg = decodeMessage(udp.payload);
          } catch {
            continue;
          }
          if (accept(msg)) return { msg, srcMac: got.addr.slice(12, 12 + Math.min(got.addr[11] ?? 0, 8)) };
        }
        const left = end - Date.now();
        if (left <= 0) return undefined;
        await Bun.sleep(Math.min(POLL_MS, left));
      }
    },
    close() {
      if (!closed) close(fd);
      closed = true;
    },
  };
}
