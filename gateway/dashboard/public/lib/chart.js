// Time-series charts with uPlot (vendored at build time into ./vendor by scripts/vendor.mjs;
// nothing from a CDN). uPlot draws on a canvas and styles through CSSOM only, so it runs
// under the gateway's strict CSP. Loaded on first use: the device list never pays for it.
import { el } from './dom.js';

let lib = null;
const load = () => (lib ??= import('../vendor/uPlot.esm.js').then((m) => m.default));

const AXIS = { stroke: '#8393a4', grid: { stroke: '#26313d', width: 1 }, ticks: { stroke: '#26313d', width: 1 }, font: '11px system-ui, sans-serif' };

/**
 * A chart of columns over time in `box`: series [{key, label, color, stepped?, scale?}].
 * setData({t: [ms], key: [...]}) replaces the data; append(tMs, {key: v}) adds a point
 * and drops those older than `windowMs` (when given). Returns a handle (async: uPlot loads once).
 */
export async function timeChart(box, o) {
  const uPlot = await load();
  const title = el('div', { class: 'chart-title' }, o.title);
  const plot = el('div', { class: 'chart-plot' });
  const wrap = el('div', { class: 'chart', 'data-chart': o.id ?? o.title }, title, plot);
  box.append(wrap);
  const keys = o.series.map((s) => s.key);
  let data = [[], ...keys.map(() => [])];
  const width = () => Math.max(240, Math.floor(wrap.clientWidth || box.clientWidth || 320) - 8);
  const stepped = uPlot.paths.stepped({ align: 1 });
  const u = new uPlot({
    width: width(), height: o.height ?? 150,
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: o.yRange ? { range: o.yRange } : { auto: true }, ...(o.scales ?? {}) },
    axes: [{ ...AXIS }, { ...AXIS, size: 48, ...(o.yValues ? { values: o.yValues } : {}) }],
    series: [{}, ...o.series.map((s) => ({
      label: s.label, stroke: s.color, width: 1.5, scale: s.scale ?? 'y', spanGaps: false,
      ...(s.fill ? { fill: s.fill } : {}), ...(s.stepped ? { paths: stepped } : {}),
      value: (_u, v) => (v == null ? '–' : s.format ? s.format(v) : String(Math.round(v * 100) / 100)),
    }))],
  }, data, plot);
  const ro = new ResizeObserver(() => { const w = width(); if (Math.abs(w - u.width) > 4) u.setSize({ width: w, height: u.height }); });
  ro.observe(wrap);
  const points = () => data[0].length;
  return {
    el: wrap,
    points,
    setData(series) {
      data = [series.t.map((t) => t / 1000), ...keys.map((k) => series[k].slice())];
      u.setData(data);
      wrap.dataset.points = String(points());
    },
    append(tMs, values) {
      const t = tMs / 1000;
      const xs = data[0];
      if (xs.length && xs[xs.length - 1] >= t) return; // already have it
      xs.push(t);
      keys.forEach((k, i) => data[i + 1].push(values[k] ?? null));
      const win = typeof o.windowMs === 'function' ? o.windowMs() : o.windowMs;
      if (win) {
        const cut = t - win / 1000;
        let n = 0;
        while (n < xs.length && xs[n] < cut) n++;
        if (n) data = data.map((col) => col.slice(n));
      }
      u.setData(data);
      wrap.dataset.points = String(points());
    },
    destroy() { ro.disconnect(); u.destroy(); wrap.remove(); },
  };
}

export const RANGE_MS = { '15m': 15 * 60_000, '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };

/** Buttons to pick a range; calls onPick(range). */
export function rangePicker(current, onPick) {
  const box = el('div', { class: 'ranges', role: 'group', 'aria-label': 'time range' });
  for (const r of Object.keys(RANGE_MS)) {
    const b = el('button', { type: 'button', class: `small ${r === current ? 'on' : ''}`, 'data-range': r }, r);
    b.addEventListener('click', () => {
      for (const x of box.children) x.classList.toggle('on', x === b);
      onPick(r);
    });
    box.append(b);
  }
  return box;
}
