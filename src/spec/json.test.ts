import { expect, test } from "bun:test";
import { marshalIndent, nestingError, parseJSON } from "./json.ts";

test("Go's MarshalIndent layout and escapes", () => {
  expect(marshalIndent({ a: [], b: {}, c: [1, { d: "x" }] })).toBe(
    '{\n    "a": [],\n    "b": {},\n    "c": [\n        1,\n        {\n            "d": "x"\n        }\n    ]\n}',
  );
  expect(marshalIndent("<a&b>\u2028")).toBe('"\\u003ca\\u0026b\\u003e\\u2028"');
  expect(marshalIndent("\b\f\n\t\\b")).toBe('"\\u0008\\u000c\\n\\t\\\\b"');
});

test("nestingError: Go's limit of 10,000 levels, strings skipped", () => {
  const deep = (n: number, o = "[", c = "]") => o.repeat(n) + c.repeat(n);
  expect(nestingError(deep(10000))).toBeUndefined();
  expect(nestingError(deep(10001))).toBe("invalid character '[' exceeded max depth");
  expect(nestingError(`{"a":${deep(10000)}}`)).toBe("invalid character '[' exceeded max depth");
  expect(nestingError(`[${'{"a":'.repeat(10000)}1${"}".repeat(10000)}]`)).toBe("invalid character '{' exceeded max depth");
  expect(nestingError(JSON.stringify({ s: "[".repeat(20000), t: '\\"[' }))).toBeUndefined();
  expect(nestingError(`["\\\\", ${deep(10000)}]`)).toBe("invalid character '[' exceeded max depth");
  expect(() => parseJSON(deep(10001))).toThrow("invalid character '[' exceeded max depth");
});
