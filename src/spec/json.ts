/**
 * JSON text as the Go reference prints it, so results and errors of ours diff clean
 * against a Go plugin's: `json.MarshalIndent(v, "", "    ")` (what types.Result.Print
 * and types.Error.Print use), with no trailing newline.
 */

const GO_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
  // Go 1.19's encoder has no short forms for backspace and form feed.
  "\\b": "\\u0008",
  "\\f": "\\u000c",
};

/**
 * Prints a value as Go's json.MarshalIndent with four spaces does: same layout as
 * JSON.stringify(v, null, 4), plus Go's HTML-safe escapes of <, > and &. Key order is
 * the caller's: build objects in the Go struct's field order.
 */
export function marshalIndent(value: unknown): string {
  // "\\\\" is matched as a unit so an escaped backslash before "b" is left alone.
  return JSON.stringify(value, null, 4).replace(/\\\\|\\[bf]|[<>&\u2028\u2029]/g, (m) => GO_ESCAPES[m] ?? m);
}
