// The soak plot: process memory, Redis memory, and the run's Redis keys and consumer lag
// over the run, each with the warm-up third shaded and the moment event time covered the
// tile horizon marked. Drawn by Apache ECharts on the server (SVG, no browser, no canvas),
// rasterised by resvg; labels use the system's DejaVu Sans (Debian fonts-dejavu-core).
import fs from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import * as echarts from 'echarts';
import { CURVES, MiB, type Curve } from './soak-curves.js';
import type { SoakSample } from './soak-sampler.js';

export interface PlotOptions {
  title: string;
  subtitle: string;
  /** minutes after the start at which event time covered the tile horizon */
  horizonAtMin?: number;
  width?: number;
  height?: number;
}

/** Three panels: process memory, Redis memory (the run's keys left, the whole instance right), keys and lag. */
const PANELS: ReadonlyArray<{ curves: string[]; axis: string; right?: string[]; rightAxis?: string }> = [
  { curves: ['rss_online', 'rss_offline', 'rss_api', 'rss_jobs'], axis: 'RSS, MiB' },
  { curves: ['redis_namespace_bytes'], axis: 'the run\'s keys, MiB', right: ['redis_used_memory'], rightAxis: 'instance, MiB' },
  { curves: ['redis_keys', 'lag_online', 'lag_offline'], axis: 'count' },
];

function points(samples: readonly SoakSample[], c: Curve): Array<[number, number | null]> {
  return samples.map((s) => {
    const v = c.value(s);
    const y = !Number.isFinite(v) ? null : c.unit === 'bytes' ? Math.round((v / MiB) * 10) / 10 : v;
    return [Math.round((s.elapsedS / 60) * 100) / 100, y];
  });
}

const curve = (name: string): Curve => {
  const c = CURVES.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no curve ${name}`);
  return c;
};

export function soakChartSvg(samples: readonly SoakSample[], o: PlotOptions): string {
  const width = o.width ?? 1200;
  const height = o.height ?? 1100;
  const endMin = samples.length === 0 ? 1 : (samples[samples.length - 1] as SoakSample).elapsedS / 60;
  const round = (x: number) => Math.round(x * 100) / 100;
  const top = 90;
  const panelH = (height - top - 60) / PANELS.length;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  const markArea = { silent: true, itemStyle: { color: 'rgba(0,0,0,0.05)' }, label: { color: '#666', fontSize: 11 }, data: [[{ xAxis: 0, name: 'warm-up (not judged)' }, { xAxis: round(endMin / 3) }]] };
  const markLine = o.horizonAtMin === undefined ? undefined
    : { silent: true, symbol: 'none', lineStyle: { type: 'dashed', color: '#999' }, label: { formatter: 'tile horizon covered', color: '#666', fontSize: 11 }, data: [{ xAxis: round(o.horizonAtMin) }] };
  const grids: object[] = [];
  const xAxes: object[] = [];
  const yAxes: object[] = [];
  const legends: object[] = [];
  const series: object[] = [];
  PANELS.forEach((p, i) => {
    const y0 = top + i * panelH;
    grids.push({ left: 90, right: 90, top: y0 + 45, height: panelH - 85 });
    legends.push({ data: [...p.curves, ...(p.right ?? [])].map((n) => curve(n).label), top: y0 + 5, itemGap: 24, textStyle: { fontSize: 12 } });
    xAxes.push({ type: 'value', gridIndex: i, min: 0, max: Math.ceil(endMin), axisLabel: { fontSize: 11 }, ...(i === PANELS.length - 1 ? { name: 'minutes since start', nameLocation: 'middle', nameGap: 28 } : {}) });
    const left = yAxes.length;
    yAxes.push({ type: 'value', gridIndex: i, name: p.axis, min: 0, axisLabel: { fontSize: 11 } });
    const right = p.right === undefined ? left : yAxes.length;
    if (p.right !== undefined) yAxes.push({ type: 'value', gridIndex: i, name: p.rightAxis, min: 0, position: 'right', splitLine: { show: false }, axisLabel: { fontSize: 11 } });
    const line = (name: string, yAxisIndex: number, first: boolean) => {
      const c = curve(name);
      series.push({
        name: c.label, type: 'line', xAxisIndex: i, yAxisIndex, showSymbol: false, data: points(samples, c),
        lineStyle: { width: 2, type: c.rule === undefined && c.memory ? 'dotted' : 'solid' },
        ...(first ? { markArea, ...(markLine ? { markLine } : {}) } : {}),
      });
    };
    p.curves.forEach((n, j) => line(n, left, j === 0));
    for (const n of p.right ?? []) line(n, right, false);
  });
  chart.setOption({
    animation: false,
    backgroundColor: '#fff',
    textStyle: { fontFamily: 'DejaVu Sans' },
    title: { text: o.title, subtext: o.subtitle, left: 'center', textStyle: { fontSize: 16 }, subtextStyle: { fontSize: 12 } },
    legend: legends, grid: grids, xAxis: xAxes, yAxis: yAxes, series,
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

export function svgToPng(svg: string): Buffer {
  return new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}

export function writePlot(file: string, samples: readonly SoakSample[], o: PlotOptions): void {
  fs.writeFileSync(file, svgToPng(soakChartSvg(samples, o)));
}
