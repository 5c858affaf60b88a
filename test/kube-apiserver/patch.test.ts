import { describe, expect, test } from "bun:test";
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from "./patch.ts";

describe("strategic merge patch", () => {
  const node = {
    metadata: { name: "n", labels: { a: "1" }, finalizers: ["x"] },
    status: {
      conditions: [
        { type: "Ready", status: "True" },
        { type: "NetworkUnavailable", status: "True" },
      ],
      addresses: [{ type: "InternalIP", address: "10.0.0.1" }],
    },
  };
  test("conditions merge by type; other conditions stay", () => {
    const out: any = strategicMergePatch(node, { status: { conditions: [{ type: "NetworkUnavailable", status: "False", reason: "FlannelIsUp" }] } }, "Node");
    expect(out.status.conditions).toEqual([
      { type: "Ready", status: "True" },
      { type: "NetworkUnavailable", status: "False", reason: "FlannelIsUp" },
    ]);
  });
  test("$patch: delete in a list, $patch: replace of a map, null removes a key, $setElementOrder ignored", () => {
    const out: any = strategicMergePatch(
      node,
      {
        metadata: { labels: { a: null, b: "2" }, "$setElementOrder/finalizers": ["x"] },
        status: { conditions: [{ type: "Ready", $patch: "delete" }], addresses: { $patch: "replace" } },
      },
      "Node",
    );
    expect(out.metadata.labels).toEqual({ b: "2" });
    expect(out.status.conditions.map((c: any) => c.type)).toEqual(["NetworkUnavailable"]);
    expect(out.status.addresses).toEqual({});
  });
  test("primitive lists with merge strategy add; $deleteFromPrimitiveList removes", () => {
    const out: any = strategicMergePatch(node, { metadata: { finalizers: ["y"] } }, "Node");
    expect(out.metadata.finalizers).toEqual(["x", "y"]);
    const back: any = strategicMergePatch(out, { metadata: { "$deleteFromPrimitiveList/finalizers": ["x"] } }, "Node");
    expect(back.metadata.finalizers).toEqual(["y"]);
  });
  test("containers merge by name; lists without a merge key are replaced", () => {
    const pod = {
      spec: {
        containers: [
          { name: "a", image: "x:1" },
          { name: "b", image: "y:1" },
        ],
        tolerations: [{ key: "k" }],
      },
    };
    const out: any = strategicMergePatch(pod, { spec: { containers: [{ name: "b", image: "y:2" }], tolerations: [{ key: "j" }] } }, "Pod");
    expect(out.spec.containers).toEqual([
      { name: "a", image: "x:1" },
      { name: "b", image: "y:2" },
    ]);
    expect(out.spec.tolerations).toEqual([{ key: "j" }]);
  });
});

test("merge patch (RFC 7386): lists replaced, null deletes", () => {
  expect(mergePatch({ a: { b: 1, c: [1, 2] } }, { a: { b: null, c: [3] } })).toEqual({ a: { c: [3] } });
});

test("json patch (RFC 6902): add, replace, remove, test, escaped pointers, errors", () => {
  const doc = { metadata: { annotations: { "a/b": "1" } }, list: [1, 2] };
  expect(
    jsonPatch(doc, [
      { op: "add", path: "/metadata/annotations/k8s.v1.cni.cncf.io~1networks", value: "x" },
      { op: "remove", path: "/metadata/annotations/a~1b" },
      { op: "add", path: "/list/-", value: 3 },
      { op: "replace", path: "/list/0", value: 0 },
    ]),
  ).toEqual({
    metadata: { annotations: { "k8s.v1.cni.cncf.io/networks": "x" } },
    list: [0, 2, 3],
  });
  expect(() => jsonPatch(doc, [{ op: "test", path: "/list/0", value: 9 }])).toThrow(PatchError);
  expect(() => jsonPatch(doc, [{ op: "replace", path: "/nope/x", value: 1 }])).toThrow(PatchError);
});
