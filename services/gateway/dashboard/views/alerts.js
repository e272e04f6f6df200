// Open alerts: what changed for which product (its title), since when (and after which review: the interval
// the reviews allow; between which dates it could have started, when that range is wider than a day),
// before -> after, and links to the reviews that show it; acknowledged ones are marked.
// With paging.
import { api } from '../api.js';
import { esc, num, date } from '../format.js';

// The change date's 90% credible range, shown when it is wider than one day.
function wideRange(a) {
  if (!a.sinceEarliest || !a.sinceLatest) return false;
  return Date.parse(a.sinceLatest) - Date.parse(a.sinceEarliest) > 86400000;
}

export async function render(view, _args, params, current) {
  const token = params.get('page_token') || '';
  const resp = await api.alerts({ page_size: 25, page_token: token, product_id: params.get('product_id') || '' });
  if (!current()) return;
  const alerts = resp.alerts || [];
  view.innerHTML = `
    <h1>Alerts</h1>
    <table id="alerts"><thead><tr><th>Since</th><th>Product</th><th>Kind</th><th>What changed</th><th>Before → after</th><th>Evidence</th></tr></thead>
    <tbody>${alerts.map((a) => `<tr class="alert" data-state="${esc(a.state || 'open')}">
      <td class="since"${a.changedAfter ? ` title="changed after the review of ${esc(date(a.changedAfter))}, shown first by the review of ${esc(date(a.since))}"` : ''}>${date(a.since || a.raisedAt)}${a.changedAfter ? `<div class="muted">after ${date(a.changedAfter)}</div>` : ''}${wideRange(a) ? `<div class="muted range" title="the change could have started on any date in this range (90% credible)">between ${date(a.sinceEarliest)} and ${date(a.sinceLatest)}</div>` : ''}</td>
      <td><a href="#/product/${encodeURIComponent(a.productId)}">${esc(a.productTitle || a.productId)}</a></td>
      <td><span class="badge">${esc(a.kind.replace(/_/g, ' '))}</span>${a.state === 'acknowledged' ? ' <span class="muted">acknowledged</span>' : ''}</td>
      <td>${esc(a.message)}</td>
      <td>${num(a.before)} → ${num(a.after)}</td>
      <td class="evidence">${(a.evidenceReviewIds || []).map((r, i) => `<a href="#/product/${encodeURIComponent(a.productId)}?review=${encodeURIComponent(r)}" title="${esc(r)}">${i + 1}</a>`).join(' ')}</td></tr>`).join('') || '<tr><td colspan="6" class="muted">No open alerts.</td></tr>'}</tbody></table>
    <div class="pager">${resp.nextPageToken ? `<a href="#/alerts?page_token=${encodeURIComponent(resp.nextPageToken)}">More</a>` : ''}</div>`;
}
