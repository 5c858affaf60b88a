/** Small SVG charts for bench/run.ts: no dependency, readable on GitHub. */

interface Stats {
  median: number;
  p10: number;
  p90: number;
}

const COLORS: Record<string, string> = { "cni-ts": "#2f6fdd", "cni-ts + daemon": "#1a9e6a", Go: "#777777", "Bun floor": "#d08b1c" };
const color = (k: string) => COLORS[k] ?? COLORS[k.split(" @")[0]!] ?? "#a04070";
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Horizontal bars (median) with p10–p90 whiskers, one per side. */
export function barChart(title: string, unit: string, sides: Record<string, Stats>): string {
  const entries = Object.entries(sides);
  const max = Math.max(...entries.map(([, s]) => s.p90), 1e-9) * 1.1;
  const [left, width, row] = [150, 460, 28];
  const h = 50 + entries.length * row + 30;
  const x = (v: number) => left + (v / max) * width;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 90}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  entries.forEach(([k, s], i) => {
    const y = 40 + i * row;
    out.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(k)}</text>`);
    out.push(`<rect x="${left}" y="${y + 3}" width="${x(s.median) - left}" height="${row - 10}" fill="${color(k)}"/>`);
    out.push(`<line x1="${x(s.p10)}" x2="${x(s.p90)}" y1="${y + row / 2 - 1}" y2="${y + row / 2 - 1}" stroke="black"/>`);
    out.push(`<text x="${x(Math.max(s.p90, s.median)) + 6}" y="${y + 15}">${s.median} ${esc(unit)}</text>`);
  });
  const axisY = 40 + entries.length * row + 5;
  out.push(`<line x1="${left}" x2="${left + width}" y1="${axisY}" y2="${axisY}" stroke="#999"/>`);
  out.push(
    `<text x="${left}" y="${axisY + 15}" fill="#555">0</text><text x="${left + width}" y="${axisY + 15}" text-anchor="end" fill="#555">${max.toFixed(1)} ${esc(unit)} (bar: median, line: p10–p90)</text>`,
  );
  out.push(`</svg>\n`);
  return out.join("\n");
}

/** One line per side over the x values of `series` (medians). */
export function lineChart(title: string, unit: string, series: { x: string; values: Record<string, number> }[]): string {
  const keys = [...new Set(series.flatMap((p) => Object.keys(p.values)))];
  const max = Math.max(...series.flatMap((p) => Object.values(p.values)), 1e-9) * 1.15;
  const [left, top, width, height] = [60, 40, 440, 200];
  const x = (i: number) => left + (series.length === 1 ? width / 2 : (i / (series.length - 1)) * width);
  const y = (v: number) => top + height - (v / max) * height;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 140}" height="${top + height + 50}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + height}" stroke="#999"/>`,
    `<line x1="${left}" x2="${left + width}" y1="${top + height}" y2="${top + height}" stroke="#999"/>`,
    `<text x="${left - 6}" y="${top + 4}" text-anchor="end" fill="#555">${max.toFixed(0)}</text>`,
    `<text x="${left - 6}" y="${top + height}" text-anchor="end" fill="#555">0 ${esc(unit)}</text>`,
  ];
  series.forEach((p, i) => out.push(`<text x="${x(i)}" y="${top + height + 18}" text-anchor="middle" fill="#555">${esc(p.x)}</text>`));
  keys.forEach((k, n) => {
    const pts = series.map((p, i) => (p.values[k] === undefined ? "" : `${x(i)},${y(p.values[k]!)}`)).filter(Boolean);
    out.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${color(k)}" stroke-width="2"/>`);
    series.forEach((p, i) => {
      if (p.values[k] !== undefined)
        out.push(
          `<circle cx="${x(i)}" cy="${y(p.values[k]!)}" r="3" fill="${color(k)}"/><text x="${x(i) + 5}" y="${y(p.values[k]!) - 5}" fill="${color(k)}">${p.values[k]}</text>`,
        );
    });
    out.push(`<text x="${left + width + 15}" y="${top + 15 + n * 18}" fill="${color(k)}">${esc(k)}</text>`);
  });
  out.push(`</svg>\n`);
  return out.join("\n");
}
