/**
 * A scripted DHCP server and a fake clock for lease tests: the link hands out
 * transports that answer from the script, and time only moves when the test says.
 */
import type { Clock } from "../../src/ipam/dhcp/clock.ts";
import { messageType } from "../../src/ipam/dhcp/client-messages.ts";
import { BOOTREPLY, newMessage, setOption, type DhcpMessage } from "../../src/ipam/dhcp/message.ts";
import { DHCPACK, DHCPNAK, DHCPOFFER, OPT_LEASE_TIME, OPT_MESSAGE_TYPE, OPT_ROUTER, OPT_SERVER_ID, OPT_SUBNET_MASK } from "../../src/ipam/dhcp/options.ts";
import type { Destination, DhcpTransport, LeaseLink, Received } from "../../src/ipam/dhcp/transport.ts";

/** A clock whose sleeps resolve only when advance() passes their deadline. */
export class FakeClock implements Clock {
  t = 1_000_000;
  #sleepers: { at: number; resolve: () => void }[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const s = { at: this.t + Math.max(0, ms), resolve };
      this.#sleepers.push(s);
      signal?.addEventListener(
        "abort",
        () => {
          this.#sleepers = this.#sleepers.filter((x) => x !== s);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Moves time forward by `ms`, waking sleepers in order and letting their work run. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      this.#sleepers.sort((a, b) => a.at - b.at);
      const next = this.#sleepers[0];
      if (!next || next.at > end) break;
      this.#sleepers.shift();
      this.t = next.at;
      next.resolve();
    }
    this.t = end;
    await settle();
  }
}

/** Lets pending promise continuations run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** One message the client sent, with where it went. */
export interface Sent {
  msg: DhcpMessage;
  src: Uint8Array;
  to: Destination;
  at: number;
}

export const CLIENT_MAC = new Uint8Array([2, 0, 0, 0, 0, 1]);
export const SERVER_MAC = new Uint8Array([2, 0, 0, 0, 0, 0xfe]);

/** How the scripted server answers a request: a reply type, or silence. */
export type Answer = "ack" | "nak" | "silent";

/** A link whose transports talk to a scripted server leasing 10.9.0.50/24 for `leaseSeconds`. */
export class FakeLink implements LeaseLink {
  sent: Sent[] = [];
  answer: Answer = "ack";
  up = true;
  present = true;
  leaseSeconds = 120;
  readonly clock: FakeClock;
  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  open(): DhcpTransport {
    if (!this.present) throw new Error("no such interface");
    let pending: DhcpMessage | undefined;
    const link = this;
    return {
      mac: CLIENT_MAC,
      send(msg, src, to) {
        link.sent.push({ msg, src, to, at: link.clock.now() });
        pending = link.#reply(msg);
      },
      async receive(timeoutMs, accept, signal): Promise<Received | undefined> {
        const reply = pending;
        pending = undefined;
        if (reply && accept(reply)) return { msg: reply, srcMac: SERVER_MAC };
        await link.clock.sleep(timeoutMs, signal);
        return undefined;
      },
      close() {},
    };
  }

  exists(): boolean {
    return this.present;
  }

  setDown(): void {
    this.up = false;
  }

  #reply(req: DhcpMessage): DhcpMessage | undefined {
    const type = messageType(req);
    if (this.answer === "silent" || type === 7) return undefined;
    const m = newMessage({ op: BOOTREPLY, xid: req.xid, chaddr: req.chaddr, yiaddr: new Uint8Array([10, 9, 0, 50]) });
    const replyType = type === 1 ? DHCPOFFER : this.answer === "nak" ? DHCPNAK : DHCPACK;
    setOption(m, OPT_MESSAGE_TYPE, new Uint8Array([replyType]));
    setOption(m, OPT_SERVER_ID, new Uint8Array([10, 9, 0, 1]));
    setOption(m, OPT_SUBNET_MASK, new Uint8Array([255, 255, 255, 0]));
    setOption(m, OPT_ROUTER, new Uint8Array([10, 9, 0, 1]));
    const s = this.leaseSeconds;
    setOption(m, OPT_LEASE_TIME, new Uint8Array([s >>> 24, (s >>> 16) & 255, (s >>> 8) & 255, s & 255]));
    return m;
  }
}
