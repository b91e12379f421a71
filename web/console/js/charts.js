// Charts with Chart.js (served by the gateway from node_modules as /console/vendor/). Each
// helper takes plain labels and series and returns a <figure> holding its canvas.
import { el, tokens } from './dom.js';

// Series colours; green is kept for "saved by the cache" alone.
const PALETTE = ['#2563eb', '#f59e0b', '#8b5cf6', '#ef4444', '#0ea5e9', '#f97316', '#a855f7', '#64748b', '#e11d48', '#0f766e'];
export const SPENT_COLOR = '#2563eb';
export const SAVED_COLOR = '#10b981';

export function color(i) {
  return PALETTE[i % PALETTE.length];
}

function figure(caption, height) {
  const canvas = el('canvas', { role: 'img', 'aria-label': caption });
  const box = el('div', { class: 'chart-box' }, canvas);
  box.style.height = `${height}px`;
  return { canvas, node: el('figure', { class: 'chart' }, box, el('figcaption', {}, caption)) };
}

const tokenAxis = { beginAtZero: true, ticks: { callback: (v) => tokens(v) }, title: { display: true, text: 'tokens' } };
const tooltip = { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${tokens(ctx.parsed[ctx.chart.options.indexAxis === 'y' ? 'x' : 'y'])} tokens` } };

/** Bars per label, one colour per series; stacked when asked. series: [{label, data, color?}]. */
export function barChart(caption, labels, series, { stacked = false, horizontal = false, height = 260 } = {}) {
  const { canvas, node } = figure(caption, height);
  const valueAxis = { ...tokenAxis, stacked };
  const labelAxis = { stacked, grid: { display: false } };
  const chart = new window.Chart(canvas, {
    type: 'bar',
    data: {
      labels,
      datasets: series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: s.color ?? color(i), borderRadius: 2 })),
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      indexAxis: horizontal ? 'y' : 'x',
      scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
      plugins: { legend: { display: series.length > 1, position: 'bottom' }, tooltip },
    },
  });
  node.chart = chart;
  return node;
}

/** Every day from `from` to `to` (YYYY-MM-DD, UTC), for a chart's x axis without gaps. */
export function daysBetween(from, to) {
  const days = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/** Short axis label for a day: "3 Nov". */
export function dayLabel(day) {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
}
