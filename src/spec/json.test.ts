import { expect, test } from "bun:test";
import { marshalIndent } from "./json.ts";

test("Go's MarshalIndent layout and escapes", () => {
  expect(marshalIndent({ a: [], b: {}, c: [1, { d: "x" }] })).toBe('{\n    "a": [],\n    "b": {},\n    "c": [\n        1,\n        {\n            "d": "x"\n        }\n    ]\n}');
  expect(marshalIndent("<a&b>\u2028")).toBe('"\\u003ca\\u0026b\\u003e\\u2028"');
  expect(marshalIndent("\b\f\n\t\\b")).toBe('"\\u0008\\u000c\\n\\t\\\\b"');
});
