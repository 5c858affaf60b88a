import { describe, expect, test } from "bun:test";
import { hex, unhex } from "../../../../test/helpers/hex.ts";
import { CMD_ARGS, EMPTY, REQUEST, RESPONSE } from "../rpc-schema.ts";
import { putInt, putUint } from "./_varint.ts";
import { GobDecoder } from "./decoder.ts";
import { GobEncoder } from "./encoder.ts";
import type { GobStruct } from "./types.ts";

// Written by Go 1.19's encoding/gob with the reference's types (skel.CmdArgs and
// types100.Result of containernetworking/cni 1.1), as net/rpc's codec writes them.
const GO_REQUEST =
  "2fff81030101075265717565737401ff82000102010d536572766963654d6574686f64010c000103536571010600000012ff82010d444843502e416c6c6f63617465005aff8303010107436d644172677301ff84000106010b436f6e7461696e65724944010c0001054e65746e73010c00010649664e616d65010c00010441726773010c00010450617468010c000109537464696e44617461010a0000003bff840102633101102f7661722f72756e2f6e65746e732f70010465746830020c2f6f70742f636e692f62696e010c7b226e616d65223a226e227d00";
const GO_RESULT =
  "3aff8503010108526573706f6e736501ff86000103010d536572766963654d6574686f64010c00010353657101060001054572726f72010c00000012ff86010d444843502e416c6c6f636174650051ff8703010106526573756c7401ff88000105010a434e4956657273696f6e010c00010a496e746572666163657301ff8c00010349507301ff92000106526f7574657301ff96000103444e5301ff9800000024ff8b020101155b5d2a74797065733130302e496e7465726661636501ff8c0001ff8a000029ff89030102ff8a00010301044e616d65010c0001034d6163010c00010753616e64626f78010c00000023ff91020101145b5d2a74797065733130302e4950436f6e66696701ff920001ff8e000033ff8d030102ff8e0001030109496e7465726661636501040001074164647265737301ff9000010747617465776179010a00000023ff8f0301010549504e657401ff9000010201024950010a0001044d61736b010a0000001dff950201010e5b5d2a74797065732e526f75746501ff960001ff9400001cff93030102ff94000102010344737401ff900001024757010a00000046ff9703010103444e5301ff98000104010b4e616d657365727665727301ff9a000106446f6d61696e010c00010653656172636801ff9a0001074f7074696f6e7301ff9a00000016ff99020101085b5d737472696e6701ff9a00010c000052ff880105312e302e3002010201040a0900320104ffffff0000011000000000000000000000ffff0a0900010001010101040000000001040000000000011000000000000000000000ffff0a09000100010000";
// A failed call: Response with Error, then struct{}{} as the body (ids continue the stream above).
const GO_ERROR = "19ff86010c444843502e52656c6561736501010104626f6f6d000aff9b030102ff9c00000003ff9c00";

const V4MAPPED_GW = unhex("00000000000000000000ffff0a090001");

describe("gob integers", () => {
  test("unsigned and signed encodings of the gob documentation", () => {
    const u = (v: number) => {
      const o: number[] = [];
      putUint(o, v);
      return hex(new Uint8Array(o));
    };
    const i = (v: number) => {
      const o: number[] = [];
      putInt(o, v);
      return hex(new Uint8Array(o));
    };
    expect(u(0)).toBe("00");
    expect(u(7)).toBe("07");
    expect(u(256)).toBe("fe 01 00");
    expect(i(-129)).toBe("fe 01 01");
    expect(i(-65)).toBe("ff 81");
    expect(i(65)).toBe("ff 82");
    expect(() => u(-1)).toThrow("not an unsigned safe integer");
  });
});

describe("GobEncoder", () => {
  test("a net/rpc request with skel.CmdArgs is byte-for-byte what Go writes", () => {
    const enc = new GobEncoder();
    const out = Buffer.concat([
      enc.encode(REQUEST, { ServiceMethod: "DHCP.Allocate", Seq: 0 }),
      enc.encode(CMD_ARGS, {
        ContainerID: "c1",
        Netns: "/var/run/netns/p",
        IfName: "eth0",
        Args: "",
        Path: "/opt/cni/bin",
        StdinData: new TextEncoder().encode('{"name":"n"}'),
      }),
    ]);
    expect(out.toString("hex")).toBe(GO_REQUEST);
  });

  test("types are defined once per stream, ids continue", () => {
    const enc = new GobEncoder();
    enc.encode(REQUEST, { ServiceMethod: "A", Seq: 0 });
    expect(hex(enc.encode(REQUEST, { ServiceMethod: "B", Seq: 300 }))).toBe("0a ff 82 01 01 42 01 fe 01 2c 00");
  });

  test("a Result in the shape of cni 1.1's types100.Result matches Go, nested definitions in Go's order", () => {
    const ipNet: GobStruct = {
      kind: "struct",
      name: "IPNet",
      fields: [
        { name: "IP", type: "bytes" },
        { name: "Mask", type: "bytes" },
      ],
    };
    const strings = { kind: "slice", name: "[]string", elem: "string" } as const;
    const result: GobStruct = {
      kind: "struct",
      name: "Result",
      fields: [
        { name: "CNIVersion", type: "string" },
        {
          name: "Interfaces",
          type: {
            kind: "slice",
            name: "[]*types100.Interface",
            elem: {
              kind: "struct",
              name: "",
              fields: [
                { name: "Name", type: "string" },
                { name: "Mac", type: "string" },
                { name: "Sandbox", type: "string" },
              ],
            },
          },
        },
        {
          name: "IPs",
          type: {
            kind: "slice",
            name: "[]*types100.IPConfig",
            elem: {
              kind: "struct",
              name: "",
              fields: [
                { name: "Interface", type: "int" },
                { name: "Address", type: ipNet },
                { name: "Gateway", type: "bytes" },
              ],
            },
          },
        },
        {
          name: "Routes",
          type: {
            kind: "slice",
            name: "[]*types.Route",
            elem: {
              kind: "struct",
              name: "",
              fields: [
                { name: "Dst", type: ipNet },
                { name: "GW", type: "bytes" },
              ],
            },
          },
        },
        {
          name: "DNS",
          type: {
            kind: "struct",
            name: "DNS",
            fields: [
              { name: "Nameservers", type: strings },
              { name: "Domain", type: "string" },
              { name: "Search", type: strings },
              { name: "Options", type: strings },
            ],
          },
        },
      ],
    };
    const enc = new GobEncoder();
    enc.encode(REQUEST, { ServiceMethod: "x", Seq: 0 });
    enc.encode(CMD_ARGS, {});
    const out = Buffer.concat([
      enc.encode(RESPONSE, { ServiceMethod: "DHCP.Allocate", Seq: 0, Error: "" }),
      enc.encode(result, {
        CNIVersion: "1.0.0",
        IPs: [{ Address: { IP: unhex("0a090032"), Mask: unhex("ffffff00") }, Gateway: V4MAPPED_GW }],
        Routes: [{ Dst: { IP: unhex("00000000"), Mask: unhex("00000000") }, GW: V4MAPPED_GW }],
        DNS: {},
      }),
    ]);
    expect(out.toString("hex")).toBe(GO_RESULT);
  });

  test("a failed call's body is an anonymous empty struct", () => {
    const enc = new GobEncoder();
    for (const t of [REQUEST, CMD_ARGS, RESPONSE]) enc.encode(t, {});
    // Skip Go's ids 68..77 (the Result types of the stream above) to line up with its output.
    for (let i = 0; i < 10; i++) enc.encode({ kind: "struct", name: `pad${i}`, fields: [] }, {});
    const out = Buffer.concat([enc.encode(RESPONSE, { ServiceMethod: "DHCP.Release", Seq: 1, Error: "boom" }), enc.encode(EMPTY, {})]);
    expect(out.toString("hex")).toBe(GO_ERROR);
  });
});

describe("GobDecoder", () => {
  test("decodes Go's request stream, fed one byte at a time", () => {
    const dec = new GobDecoder();
    const got = [];
    for (const b of unhex(GO_REQUEST)) got.push(...dec.push(new Uint8Array([b])));
    expect(got.map((d) => d.typeName)).toEqual(["Request", "CmdArgs"]);
    expect(got[0]!.value).toEqual({ ServiceMethod: "DHCP.Allocate" });
    const args = got[1]!.value as Record<string, unknown>;
    expect(args.ContainerID).toBe("c1");
    expect(args.Path).toBe("/opt/cni/bin");
    expect(new TextDecoder().decode(args.StdinData as Uint8Array)).toBe('{"name":"n"}');
  });

  test("decodes Go's Result with types named before they are defined", () => {
    const dec = new GobDecoder();
    const got = dec.push(unhex(GO_RESULT));
    expect(got.length).toBe(2);
    expect(got[1]!.value).toEqual({
      CNIVersion: "1.0.0",
      IPs: [{ Address: { IP: unhex("0a090032"), Mask: unhex("ffffff00") }, Gateway: V4MAPPED_GW }],
      Routes: [{ Dst: { IP: unhex("00000000"), Mask: unhex("00000000") }, GW: V4MAPPED_GW }],
      DNS: {},
    });
    const err = dec.push(unhex(GO_ERROR));
    expect(err.map((d) => d.value)).toEqual([{ ServiceMethod: "DHCP.Release", Seq: 1, Error: "boom" }, {}]);
  });

  test("keeps an incomplete message until the rest arrives", () => {
    const dec = new GobDecoder();
    const bytes = unhex(GO_REQUEST);
    expect(dec.push(bytes.subarray(0, 60))).toEqual([]);
    expect(dec.push(bytes.subarray(60)).length).toBe(2);
  });

  test("refuses values of undefined types and truncated messages", () => {
    expect(() => new GobDecoder().push(unhex("03 ff 82 00"))).toThrow("type 65 is not defined");
    expect(() => new GobDecoder().push(unhex("02 0c 00"))).toThrow(RangeError);
  });
});
