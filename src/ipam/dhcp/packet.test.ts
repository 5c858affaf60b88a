import { describe, expect, test } from "bun:test";
import { hex, unhex } from "../../../test/helpers/hex.ts";
import { decodeUdpIp, encodeUdpIp } from "./packet.ts";

describe("IPv4/UDP framing", () => {
  test("a broadcast from 0.0.0.0:68 to 255.255.255.255:67 with both checksums", () => {
    const b = encodeUdpIp({ src: unhex("00000000"), dst: unhex("ffffffff"), srcPort: 68, dstPort: 67, payload: unhex("01 02 03") });
    // Worked by hand: IP header words sum to 0x2853e, folded 0x8540, inverted 0x7abf; UDP with
    // its pseudo header sums to 0x204ae, folded 0x04b0, inverted 0xfb4f.
    expect(hex(b)).toBe("45 10 00 1f 00 00 00 00 40 11 7a bf 00 00 00 00 ff ff ff ff 00 44 00 43 00 0b fb 4f 01 02 03");
  });

  test("round trip, and other packets ignored", () => {
    const d = { src: unhex("0a090001"), dst: unhex("0a090032"), srcPort: 67, dstPort: 68, payload: new Uint8Array(300).fill(9) };
    expect(decodeUdpIp(encodeUdpIp(d))).toEqual(d);
    const tcp = encodeUdpIp(d);
    tcp[9] = 6;
    expect(decodeUdpIp(tcp)).toBeUndefined();
    const frag = encodeUdpIp(d);
    frag[6] = 0x20;
    expect(decodeUdpIp(frag)).toBeUndefined();
    expect(decodeUdpIp(encodeUdpIp(d).subarray(0, 100))).toBeUndefined();
  });
});
