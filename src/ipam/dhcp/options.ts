/**
 * DHCP option codes (RFC 2132, RFC 3442) and their values: what a lease reads out of
 * an ACK (mask, router, lease times, routes) and the plugin's `provide` / `request`
 * settings turned into options, with the reference plugin's names and defaults.
 */
import { formatIP } from "../../spec/ip.ts";

export const OPT_SUBNET_MASK = 1;
export const OPT_ROUTER = 3;
const OPT_HOST_NAME = 12;
export const OPT_STATIC_ROUTES = 33;
export const OPT_REQUESTED_IP = 50;
export const OPT_LEASE_TIME = 51;
export const OPT_MESSAGE_TYPE = 53;
export const OPT_SERVER_ID = 54;
export const OPT_PARAM_REQUEST_LIST = 55;
export const OPT_MESSAGE = 56;
export const OPT_RENEWAL_TIME = 58;
export const OPT_REBINDING_TIME = 59;
const OPT_VENDOR_CLASS = 60;
export const OPT_CLIENT_ID = 61;
const OPT_USER_CLASS = 77;
export const OPT_CLASSLESS_ROUTES = 121;

/** DHCP message types (option 53). */
export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;

/** Option names the reference accepts besides numbers (a subset of dhcp-options(5)). */
const OPTION_NAMES: Record<string, number> = {
  "dhcp-client-identifier": OPT_CLIENT_ID,
  "subnet-mask": OPT_SUBNET_MASK,
  routers: OPT_ROUTER,
  "host-name": OPT_HOST_NAME,
  "user-class": OPT_USER_CLASS,
  "vendor-class-identifier": OPT_VENDOR_CLASS,
};

/** Options asked for unless a `request` entry sets skipDefault. */
const DEFAULT_REQUESTED = [OPT_ROUTER, OPT_SUBNET_MASK];

/** A `provide` entry: an option to send, its value literal or from a CNI_ARGS key. */
export interface ProvideOption {
  option: string;
  value?: string;
  fromArg?: string;
}

/** A `request` entry: an option to ask the server for. */
export interface RequestOption {
  option?: string;
  skipDefault?: boolean;
}

/** A code from an option name or a decimal number 0..255; throws on anything else. */
export function parseOptionName(name: string): number {
  if (Object.hasOwn(OPTION_NAMES, name)) return OPTION_NAMES[name]!;
  if (!/^\d+$/.test(name) || Number(name) > 255) throw new Error(`Can not parse option ${JSON.stringify(name)}: not a known name or a number 0..255`);
  return Number(name);
}

/**
 * The options a lease sends with every request, as the reference builds them: each
 * `provide` value (literal, then from CNI_ARGS, the later winning for the same code),
 * then the parameter request list: the `request` options, then router and subnet mask
 * unless an entry set skipDefault.
 */
export function prepareOptions(cniArgs: string, provide: readonly ProvideOption[] = [], request: readonly RequestOption[] = []): Map<number, Uint8Array> {
  const args = new Map<string, string>();
  // The reference splits CNI_ARGS itself and takes any "K=V" pair, so do not reject odd keys here.
  for (const pair of cniArgs.split(";")) {
    const eq = pair.indexOf("=");
    if (eq >= 0) args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const out = new Map<number, Uint8Array>();
  for (const p of provide) {
    const code = parseOptionName(p.option);
    if (p.value) out.set(code, text(p.value, `value too long for option ${JSON.stringify(p.option)}`));
    const fromArg = p.fromArg !== undefined ? args.get(p.fromArg) : undefined;
    if (fromArg !== undefined) out.set(code, text(fromArg, `value too long for option ${JSON.stringify(p.option)} from CNI_ARGS ${JSON.stringify(p.fromArg)}`));
  }
  const requested: number[] = [];
  let skipDefault = false;
  for (const r of request) {
    if (r.skipDefault) skipDefault = true;
    if (!r.option) continue;
    const code = parseOptionName(r.option);
    if (!requested.includes(code)) requested.push(code);
  }
  if (!skipDefault) for (const code of DEFAULT_REQUESTED) if (!requested.includes(code)) requested.push(code);
  if (requested.length) out.set(OPT_PARAM_REQUEST_LIST, new Uint8Array(requested));
  return out;
}

function text(s: string, tooLong: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  if (b.length > 255) throw new Error(tooLong);
  return b;
}

/** A 32-bit option (lease times), or undefined when absent or malformed. */
export function optionUint32(data: Uint8Array | undefined): number | undefined {
  if (!data || data.length !== 4) return undefined;
  return new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
}

/** An option holding addresses (router, DNS servers). */
export function optionIPs(data: Uint8Array | undefined): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (!data) return out;
  for (let i = 0; i + 4 <= data.length; i += 4) out.push(data.slice(i, i + 4));
  return out;
}

/** Prefix length of a netmask, or undefined when its ones are not contiguous. */
export function maskPrefix(mask: Uint8Array): number | undefined {
  let bits = 0;
  let zeroSeen = false;
  for (const byte of mask) {
    for (let b = 7; b >= 0; b--) {
      if (byte & (1 << b)) {
        if (zeroSeen) return undefined;
        bits++;
      } else {
        zeroSeen = true;
      }
    }
  }
  return bits;
}

/** A route from an option: destination as CIDR text, gateway text ("0.0.0.0" when on-link). */
export interface OptionRoute {
  dst: string;
  gw: string;
}

/**
 * Classless static routes (option 121, RFC 3442): a prefix length, the significant
 * octets of the destination, then the router. Stops at the first malformed entry.
 */
export function classlessRoutes(data: Uint8Array | undefined): OptionRoute[] {
  const out: OptionRoute[] = [];
  if (!data) return out;
  for (let i = 0; i < data.length; ) {
    const prefix = data[i]!;
    const octets = Math.ceil(prefix / 8);
    if (prefix > 32 || i + 1 + octets + 4 > data.length) break;
    const dst = new Uint8Array(4);
    dst.set(data.subarray(i + 1, i + 1 + octets));
    const gw = data.subarray(i + 1 + octets, i + 5 + octets);
    out.push({ dst: `${formatIP(dst)}/${prefix}`, gw: formatIP(gw) });
    i += 5 + octets;
  }
  return out;
}

/** Static routes (option 33): destination and router pairs, the destination's mask by its class. */
export function staticRoutes(data: Uint8Array | undefined): OptionRoute[] {
  const out: OptionRoute[] = [];
  if (!data) return out;
  for (let i = 0; i + 8 <= data.length; i += 8) {
    const dst = data.subarray(i, i + 4);
    out.push({ dst: `${formatIP(dst)}/${classfulPrefix(dst[0]!)}`, gw: formatIP(data.subarray(i + 4, i + 8)) });
  }
  return out;
}

/** Go's IP.DefaultMask: class A /8, B /16, C /24 (D and E have none in Go; /24 here, as no router serves them). */
function classfulPrefix(first: number): number {
  if (first < 0x80) return 8;
  if (first < 0xc0) return 16;
  return 24;
}
