// Small formatting helpers shared by the views. Everything that goes into innerHTML passes through esc().
export function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
export const num = (v, digits = 2) => (Number(v) || 0).toFixed(digits);
// int64 fields arrive as strings (protobuf's JSON mapping).
export const int = (v) => Number(v || 0).toLocaleString('en-US');
export const price = (cents) => `$${(Number(cents || 0) / 100).toFixed(2)}`;
export const date = (ts) => (ts ? new Date(ts).toISOString().slice(0, 10) : '');
export function sentimentClass(s) { return s < -0.2 ? 'neg' : s > 0.2 ? 'pos' : ''; }
