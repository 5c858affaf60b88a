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
  const text = JSON.stringify(value, null, 4);
  if (!mayNeedGoEscapes(text)) return text;
  // "\\\\" is matched as a unit so an escaped backslash before "b" is left alone.
  return text.replace(/\\\\|\\[bf]|[<>&\u2028\u2029]/g, (m) => GO_ESCAPES[m] ?? m);
}

/**
 * False when `text` has none of the characters Go escapes differently (and no
 * backslash): most results, which then skip the regex (its compile and String.replace's
 * first use cost a plugin process about 0.1 ms).
 */
function mayNeedGoEscapes(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

/** Go's encoding/json refuses values nested deeper than this (scanner's maxNestingDepth). */
const MAX_NESTING_DEPTH = 10000;

/**
 * Go's error text for JSON nested deeper than MAX_NESTING_DEPTH ("invalid character
 * '[' exceeded max depth", naming the bracket that went one level too deep), or
 * undefined. Strings are skipped, so brackets inside them do not count.
 */
export function nestingError(text: string): string | undefined {
  // Going deeper than the limit takes more opening brackets than a short text has.
  if (text.length <= MAX_NESTING_DEPTH) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_NESTING_DEPTH) return `invalid character '${text[i]}' exceeded max depth`;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}

/** JSON.parse with Go's nesting limit; throws a SyntaxError with Go's text when it is exceeded. */
export function parseJSON(text: string): unknown {
  const deep = nestingError(text);
  if (deep) throw new SyntaxError(deep);
  return JSON.parse(text);
}
