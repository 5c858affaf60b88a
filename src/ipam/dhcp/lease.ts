/**
 * One DHCP lease, acquired and kept alive for one attachment (RFC 2131 4.4): acquire
 * (DISCOVER, OFFER, REQUEST, ACK), then in the background renew with the granting
 * server from T1, rebind with any server from T2, and at expiry set the interface
 * down and give up, as the reference daemon does. stop() releases the address.
 * Retries follow the reference: four quick ones about 2 s apart, then back off from
 * 4 s doubling up to resendMax, for at most resendTimeout (or the next deadline).
 */
import { systemClock, type Clock } from "./clock.ts";
import { discover, isReply, release, requestExtend, requestOffer, type ClientIdentity } from "./client-messages.ts";
import { leasePhase, leaseTimes, type LeaseTimes } from "./lease-times.ts";
import { ZERO_IP, getOption, type DhcpMessage } from "./message.ts";
import { DHCPACK, DHCPNAK, DHCPOFFER, OPT_MESSAGE, OPT_SERVER_ID } from "./options.ts";
import type { Destination, LeaseLink } from "./transport.ts";
import { errorMessage } from "../../spec/error.ts";

/** Timing of exchanges; defaults are the reference daemon's flags. */
export interface LeaseTiming {
  /** How long to wait for each reply (-timeout, 10 s). */
  timeoutMs: number;
  /** Largest pause between retries (-resendmax, 62 s). */
  resendMaxMs: number;
  /** Give up acquiring after this long (-resendtimeout, 208 s). */
  resendTimeoutMs: number;
}

const DEFAULT_TIMING: LeaseTiming = { timeoutMs: 10_000, resendMaxMs: 62_000, resendTimeoutMs: 208_000 };

const FAST_RETRIES = 4;
const FAST_DELAY_MS = 2_000;
const FIRST_BACKOFF_MS = 4_000;
const JITTER_MS = 1_000;

/** What a lease needs from outside; tests replace the clock, the randomness and the link. */
export interface LeaseDeps {
  link: LeaseLink;
  clock?: Clock;
  timing?: Partial<LeaseTiming>;
  /** A transaction id (random by default). */
  xid?: () => number;
  /** In [-1, 1): spreads retries (random by default). */
  jitter?: () => number;
  log?: (msg: string) => void;
}

/** A server refused the request. */
export class NakError extends Error {
  constructor(detail: string) {
    super(`received DHCPNAK${detail ? `: ${detail}` : ""}`);
    this.name = "NakError";
  }
}

const BROADCAST: Destination = { broadcast: true };

/** A lease being maintained; see the module comment. */
export class DhcpLease {
  readonly id: ClientIdentity;
  ack!: DhcpMessage;
  times!: LeaseTimes;
  /** Where the last ACK came from (the server, or the relay in front of it). */
  #serverMac: Uint8Array | undefined;
  readonly #link: LeaseLink;
  readonly #clock: Clock;
  readonly #timing: LeaseTiming;
  readonly #xid: () => number;
  readonly #jitter: () => number;
  readonly #log: (msg: string) => void;
  readonly #stop = new AbortController();
  #wake = new AbortController();
  #loop: Promise<void> = Promise.resolve();
  /** Called once when maintenance ends on its own (expiry, interface gone). */
  onEnd?: (reason: string) => void;

  private constructor(id: ClientIdentity, deps: LeaseDeps) {
    this.id = id;
    this.#link = deps.link;
    this.#clock = deps.clock ?? systemClock;
    this.#timing = { ...DEFAULT_TIMING, ...deps.timing };
    this.#xid = deps.xid ?? (() => crypto.getRandomValues(new Uint32Array(1))[0]!);
    this.#jitter = deps.jitter ?? (() => Math.random() * 2 - 1);
    this.#log = deps.log ?? (() => {});
  }

  /** Acquires a lease and starts maintaining it; throws when no server granted one within resendTimeout. */
  static async acquire(id: ClientIdentity, deps: LeaseDeps): Promise<DhcpLease> {
    const l = new DhcpLease(id, deps);
    l.#log(`${id.clientID}: acquiring lease`);
    await l.#retry(l.#clock.now() + l.#timing.resendTimeoutMs, (d) => l.#acquireOnce(d));
    l.#log(`${id.clientID}: lease acquired, expiration is ${new Date(l.times.expireAt).toISOString()}`);
    l.#loop = l.#maintain();
    return l;
  }

  /** The leased address. */
  get ip(): Uint8Array {
    return this.ack.yiaddr;
  }

  /** Wakes maintenance to look at the lease now (a CHECK or repeated ADD). */
  check(): void {
    this.#wake.abort();
  }

  /** Ends maintenance and releases the address; the release is best effort. */
  async stop(): Promise<void> {
    if (this.#stop.signal.aborted) return this.#loop;
    this.#stop.abort();
    await this.#loop;
    this.#log(`${this.id.clientID}: releasing lease`);
    try {
      const t = this.#link.open();
      try {
        t.send(release(this.id, this.#xid(), this.ip, getOption(this.ack, OPT_SERVER_ID)), this.ip, this.#unicast());
      } finally {
        t.close();
      }
    } catch (e) {
      this.#log(`${this.id.clientID}: failed to send DHCPRELEASE: ${errorMessage(e)}`);
    }
  }

  async #maintain(): Promise<void> {
    const stopped = this.#stop.signal;
    let reason = "";
    while (!stopped.aborted) {
      if (!this.#link.exists()) {
        reason = "interface no longer exists, terminating lease maintenance";
        break;
      }
      const now = this.#clock.now();
      const phase = leasePhase(this.times, now);
      if (phase === "bound") {
        this.#wake = new AbortController();
        await this.#clock.sleep(this.times.renewAt - now, AbortSignal.any([stopped, this.#wake.signal]));
        continue;
      }
      if (phase === "expired") {
        reason = "lease expired, bringing interface DOWN";
        try {
          this.#link.setDown();
        } catch (e) {
          this.#log(`${this.id.clientID}: failed to bring interface DOWN: ${errorMessage(e)}`);
        }
        break;
      }
      const rebinding = phase === "rebinding";
      this.#log(`${this.id.clientID}: ${rebinding ? "rebinding" : "renewing"} lease`);
      try {
        await this.#retry(rebinding ? this.times.expireAt : this.times.rebindAt, (d) => this.#extendOnce(rebinding, d), true);
        this.#log(`${this.id.clientID}: lease ${rebinding ? "rebound" : "renewed"}, expiration is ${new Date(this.times.expireAt).toISOString()}`);
      } catch (e) {
        if (stopped.aborted) break;
        this.#log(`${this.id.clientID}: ${errorMessage(e)}`);
        // A NAK ends the lease at once (RFC 2131 4.4.5): start over as at ADD.
        if (e instanceof NakError) {
          try {
            await this.#retry(this.#clock.now() + this.#timing.resendTimeoutMs, (d) => this.#acquireOnce(d));
          } catch {
            this.times = { ...this.times, expireAt: this.#clock.now() };
          }
        }
      }
    }
    if (reason) {
      this.#log(`${this.id.clientID}: ${reason}`);
      this.onEnd?.(reason);
    }
  }

  /** Runs `once` until it succeeds, pausing between tries, until `deadline` (then its last error). */
  async #retry(deadline: number, once: (deadline: number) => Promise<void>, stopOnNak = false): Promise<void> {
    let fast = FAST_RETRIES;
    let backoff = FIRST_BACKOFF_MS;
    for (;;) {
      let err: unknown;
      try {
        return await once(deadline);
      } catch (e) {
        err = e;
      }
      if (this.#stop.signal.aborted) throw new Error("lease stopped");
      if (err instanceof NakError && stopOnNak) throw err;
      const pause = (fast > 0 ? FAST_DELAY_MS : backoff) + this.#jitter() * JITTER_MS;
      if (fast > 0) fast--;
      else if (backoff < this.#timing.resendMaxMs) backoff = Math.min(backoff * 2, this.#timing.resendMaxMs);
      if (this.#clock.now() + pause >= deadline) {
        // No time for another try: wait out the deadline so the caller moves on to the next phase.
        await this.#clock.sleep(deadline - this.#clock.now(), this.#stop.signal);
        throw err;
      }
      await this.#clock.sleep(pause, this.#stop.signal);
      if (this.#stop.signal.aborted) throw new Error("lease stopped");
    }
  }

  /** How long to wait for a reply: the -timeout, but not past `deadline`. */
  #wait(deadline: number): number {
    return Math.max(1, Math.min(this.#timing.timeoutMs, deadline - this.#clock.now()));
  }

  async #acquireOnce(deadline: number): Promise<void> {
    const t = this.#link.open();
    try {
      const id = { ...this.id, mac: t.mac };
      const xid = this.#xid();
      t.send(discover(id, xid), ZERO_IP, BROADCAST);
      const offer = await t.receive(this.#wait(deadline), (m) => isReply(m, xid, t.mac, [DHCPOFFER]), this.#stop.signal);
      if (!offer) throw new Error("no DHCPOFFER received");
      t.send(requestOffer(id, xid, offer.msg), ZERO_IP, BROADCAST);
      this.#commit(await this.#awaitAck(t, xid, deadline));
    } finally {
      t.close();
    }
  }

  async #extendOnce(rebinding: boolean, deadline: number): Promise<void> {
    const t = this.#link.open();
    try {
      const xid = this.#xid();
      t.send(requestExtend({ ...this.id, mac: t.mac }, xid, this.ip), this.ip, rebinding ? BROADCAST : this.#unicast());
      this.#commit(await this.#awaitAck(t, xid, deadline));
    } finally {
      t.close();
    }
  }

  async #awaitAck(t: ReturnType<LeaseLink["open"]>, xid: number, deadline: number): Promise<{ msg: DhcpMessage; srcMac: Uint8Array }> {
    const reply = await t.receive(this.#wait(deadline), (m) => isReply(m, xid, t.mac, [DHCPACK, DHCPNAK]), this.#stop.signal);
    if (!reply) throw new Error("no DHCPACK received");
    if (isReply(reply.msg, xid, t.mac, [DHCPNAK])) throw new NakError(new TextDecoder().decode(getOption(reply.msg, OPT_MESSAGE) ?? new Uint8Array()));
    return reply;
  }

  #commit(reply: { msg: DhcpMessage; srcMac: Uint8Array }): void {
    this.ack = reply.msg;
    this.#serverMac = reply.srcMac;
    this.times = leaseTimes(reply.msg, this.#clock.now());
  }

  /** Unicast to the granting server at the MAC its ACK came from; broadcast when unknown. */
  #unicast(): Destination {
    const server = getOption(this.ack, OPT_SERVER_ID);
    if (!server || server.length !== 4 || !this.#serverMac || this.#serverMac.length !== 6) return BROADCAST;
    return { ip: server, mac: this.#serverMac };
  }
}
