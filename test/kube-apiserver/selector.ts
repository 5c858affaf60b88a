/**
 * Label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors (=, ==, !=
 * on the fields a resource supports), parsed as the apiserver does.
 */

export class SelectorError extends Error {}

type Match = (o: Record<string, any>) => boolean;

/** labelSelector= to a predicate on metadata.labels. */
export function parseLabelSelector(s: string | null): Match {
  if (!s || !s.trim()) return () => true;
  const reqs: Match[] = [];
  for (const part of splitTop(s)) {
    const p = part.trim();
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      const [, k, op, list] = m;
      const vals = new Set(list!.split(",").map((x) => x.trim()));
      reqs.push(op === "in" ? (o) => vals.has(labels(o)[k!]) : (o) => !vals.has(labels(o)[k!]));
    } else if ((m = p.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/))) {
      const [, k, op, v] = m;
      reqs.push(op === "!=" ? (o) => labels(o)[k!] !== v : (o) => labels(o)[k!] === v);
    } else if ((m = p.match(/^!([\w./-]+)$/))) {
      const k = m[1]!;
      reqs.push((o) => !(k in labels(o)));
    } else if ((m = p.match(/^([\w./-]+)$/))) {
      const k = m[1]!;
      reqs.push((o) => k in labels(o));
    } else throw new SelectorError(`unable to parse requirement: ${JSON.stringify(p)}`);
  }
  return (o) => reqs.every((r) => r(o));
}

/** fieldSelector= to a predicate; `fields` are the selectable field paths of the resource. */
export function parseFieldSelector(s: string | null, fields: string[]): Match {
  if (!s || !s.trim()) return () => true;
  const reqs: Match[] = [];
  for (const part of s.split(",")) {
    const m = part.trim().match(/^([\w.]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw new SelectorError(`invalid selector: '${s}'; can't understand '${part}'`);
    const [, f, op, v] = m;
    if (!fields.includes(f!)) throw new SelectorError(`field label not supported: ${f}`);
    const get = (o: Record<string, any>) => String(f!.split(".").reduce<any>((x, k) => x?.[k], o) ?? "");
    reqs.push(op === "!=" ? (o) => get(o) !== v : (o) => get(o) === v);
  }
  return (o) => reqs.every((r) => r(o));
}

function labels(o: Record<string, any>): Record<string, string> {
  return o.metadata?.labels ?? {};
}

/** Splits on commas outside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0,
    cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.filter((x) => x.trim() !== "");
}
