// A dependency-free SVG line chart: enough for weekly series (rating, sentiment, review velocity).
import { esc } from './format.js';

export function lineChart(title, points, { min, max, format = (v) => v.toFixed(2) } = {}) {
  const w = 320, h = 140, pad = 24;
  const values = points.map((p) => p.y);
  if (values.length === 0) {
    return `<div class="card chart"><b>${esc(title)}</b><p class="muted">No data yet.</p></div>`;
  }
  const lo = min ?? Math.min(...values), hi = max ?? Math.max(...values);
  const span = hi - lo || 1;
  const x = (i) => pad + (values.length === 1 ? (w - 2 * pad) / 2 : (i * (w - 2 * pad)) / (values.length - 1));
  const y = (v) => h - pad - ((v - lo) * (h - 2 * pad)) / span;
  const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ');
  const last = points[points.length - 1];
  return `<div class="card chart" data-chart="${esc(title)}"><b>${esc(title)}</b>
    <span class="muted"> latest ${esc(format(last.y))}</span>
    <svg viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}">
      <line class="axis" x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}"/>
      <line class="axis" x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}"/>
      <text x="2" y="${pad + 4}">${esc(format(hi))}</text><text x="2" y="${h - pad}">${esc(format(lo))}</text>
      <text x="${pad}" y="${h - 6}">${esc(points[0].label)}</text>
      <text x="${w - pad - 60}" y="${h - 6}">${esc(last.label)}</text>
      <polyline points="${line}"/>
      ${points.map((p, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="2.5" fill="#3557d6"><title>${esc(p.label)}: ${esc(format(p.y))}</title></circle>`).join('')}
    </svg></div>`;
}
