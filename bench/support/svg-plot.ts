// Line charts as standalone SVG, for the rebalance plot. A few polylines, axes and a band need no
// charting library (the ones on npm draw through a browser or a native canvas).

export interface Series {
  readonly name: string;
  readonly color: string;
  /** [x, y] points, x ascending. */
  readonly points: readonly (readonly [number, number])[];
}

export interface Panel {
  readonly title: string;
  readonly series: readonly Series[];
  /** A horizontal band drawn behind the lines (the ±10 % of even, say). */
  readonly band?: { readonly from: number; readonly to: number; readonly label: string };
  /** Vertical markers: [x, label]. */
  readonly markers?: readonly (readonly [number, string])[];
}

export interface ChartOptions {
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xRange: readonly [number, number];
  readonly yRange: readonly [number, number];
  readonly panelWidth?: number;
  readonly panelHeight?: number;
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Evenly spaced round tick values covering [min, max]. */
function ticks(min: number, max: number, target = 6): number[] {
  const raw = (max - min) / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}

/** Panels side by side sharing axes ranges; one legend from the first panel's series. */
export function lineChartSvg(panels: readonly Panel[], options: ChartOptions): string {
  const width = options.panelWidth ?? 460;
  const height = options.panelHeight ?? 300;
  const margin = { left: 56, right: 16, top: 30, bottom: 44 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const [x0, x1] = options.xRange;
  const [y0, y1] = options.yRange;
  const sx = (x: number) => margin.left + ((Math.min(Math.max(x, x0), x1) - x0) / (x1 - x0)) * plotW;
  const sy = (y: number) => margin.top + plotH - ((Math.min(Math.max(y, y0), y1) - y0) / (y1 - y0)) * plotH;
  const legendH = 24;
  const parts: string[] = [];
  panels.forEach((panel, p) => {
    const g: string[] = [];
    if (panel.band) {
      g.push(`<rect x="${sx(x0)}" y="${sy(panel.band.to)}" width="${plotW}" height="${sy(panel.band.from) - sy(panel.band.to)}" fill="#e8e8e8"/>`);
      g.push(`<text x="${sx(x1) - 4}" y="${sy(panel.band.to) - 3}" text-anchor="end" font-size="10" fill="#666">${escape(panel.band.label)}</text>`);
    }
    for (const t of ticks(y0, y1)) {
      g.push(`<line x1="${sx(x0)}" x2="${sx(x1)}" y1="${sy(t)}" y2="${sy(t)}" stroke="#ddd" stroke-width="0.5"/>`);
      g.push(`<text x="${margin.left - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="10">${t}</text>`);
    }
    for (const t of ticks(x0, x1)) g.push(`<text x="${sx(t)}" y="${margin.top + plotH + 16}" text-anchor="middle" font-size="10">${t}</text>`);
    for (const [x, label] of panel.markers ?? []) {
      g.push(`<line x1="${sx(x)}" x2="${sx(x)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#999" stroke-dasharray="4 3"/>`);
      g.push(`<text x="${sx(x) + 3}" y="${margin.top + 10}" font-size="10" fill="#555">${escape(label)}</text>`);
    }
    for (const s of panel.series) {
      const points = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      g.push(`<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`);
    }
    g.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333" stroke-width="0.8"/>`);
    g.push(`<text x="${margin.left + plotW / 2}" y="${margin.top - 10}" text-anchor="middle" font-size="13" font-weight="bold">${escape(panel.title)}</text>`);
    g.push(`<text x="${margin.left + plotW / 2}" y="${height - 8}" text-anchor="middle" font-size="11">${escape(options.xLabel)}</text>`);
    g.push(`<text transform="translate(14 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="11">${escape(options.yLabel)}</text>`);
    parts.push(`<g transform="translate(${p * width} 0)">${g.join('')}</g>`);
  });
  const legend = (panels[0]?.series ?? [])
    .map((s, i) => `<g transform="translate(${margin.left + i * 150} ${height + 8})"><rect width="18" height="3" y="5" fill="${s.color}"/><text x="24" y="10" font-size="11">${escape(s.name)}</text></g>`)
    .join('');
  const totalW = width * panels.length;
  const totalH = height + legendH;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${totalW}" height="${totalH}" viewBox="0 0 ${totalW} ${totalH}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>${parts.join('')}${legend}</svg>\n`;
}
