// Product grid: filters (category, sentiment, minimum rating, search, sort) and page-token paging.
import { api } from '../api.js';
import { esc, num, int, price, sentimentClass } from '../format.js';

const PAGE_SIZE = 12;
const history = new Map();  // filters -> page tokens seen before the current one (for "Previous")

function hashFor(params) {
  const q = new URLSearchParams();
  for (const [k, v] of params) if (v) q.set(k, v);
  return `#/products?${q}`;
}

export async function render(view, _args, params, current) {
  const f = {
    category: params.get('category') || '',
    sentiment: params.get('sentiment') || '',
    min_rating: params.get('min_rating') || '',
    q: params.get('q') || '',
    sort: params.get('sort') || '',
  };
  const token = params.get('page_token') || '';
  const key = JSON.stringify(f);
  const resp = await api.products({ ...f, page_size: PAGE_SIZE, page_token: token });
  if (!current()) return;
  const list = resp.products || [];
  const seen = history.get(key) || [];
  const categories = [...new Set([f.category, ...list.map((p) => p.category)].filter(Boolean))];
  view.innerHTML = `
    <h1>Products <span class="muted" id="total">${int(resp.totalSize)} matching</span></h1>
    <form class="filters" id="filters">
      <input name="q" placeholder="Search title or brand" value="${esc(f.q)}">
      <input name="category" list="categories" placeholder="Category" value="${esc(f.category)}">
      <datalist id="categories">${categories.map((c) => `<option value="${esc(c)}">`).join('')}</datalist>
      <select name="sentiment">
        ${['', 'negative', 'neutral', 'positive'].map((s) => `<option value="${s}" ${s === f.sentiment ? 'selected' : ''}>${s || 'Any sentiment'}</option>`).join('')}
      </select>
      <select name="min_rating">
        ${['', '1', '2', '3', '4', '4.5'].map((r) => `<option value="${r}" ${r === f.min_rating ? 'selected' : ''}>${r ? `Rating ≥ ${r}` : 'Any rating'}</option>`).join('')}
      </select>
      <select name="sort">
        ${[['', 'Default order'], ['-rating', 'Best rated'], ['rating', 'Worst rated'], ['-sentiment', 'Most positive'], ['sentiment', 'Most negative'], ['-reviews', 'Most reviewed'], ['title', 'Title']]
          .map(([v, l]) => `<option value="${v}" ${v === f.sort ? 'selected' : ''}>${l}</option>`).join('')}
      </select>
      <button type="submit">Apply</button>
      <button type="button" class="secondary" id="reset">Reset</button>
    </form>
    <div class="grid" id="products">
      ${list.length === 0 ? '<p class="muted">No product matches these filters.</p>' : list.map(card).join('')}
    </div>
    <div class="pager">
      <button class="secondary" id="prev" ${seen.length === 0 || !token ? 'disabled' : ''}>Previous</button>
      <span class="muted" id="page">Page ${seen.length + 1}</span>
      <button class="secondary" id="next" ${resp.nextPageToken ? '' : 'disabled'}>Next</button>
    </div>`;

  view.querySelector('#filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(ev.target);
    const next = {};
    for (const k of Object.keys(f)) next[k] = data.get(k) || '';
    history.delete(JSON.stringify(next));  // a new search starts on page 1
    location.hash = hashFor(Object.entries(next));
  });
  view.querySelector('#reset').addEventListener('click', () => { location.hash = '#/products'; });
  view.querySelector('#next').addEventListener('click', () => {
    history.set(key, [...seen, token]);
    location.hash = hashFor([...Object.entries(f), ['page_token', resp.nextPageToken]]);
  });
  view.querySelector('#prev').addEventListener('click', () => {
    const back = seen.slice(0, -1);
    const prevToken = seen[seen.length - 1] || '';
    history.set(key, back);
    location.hash = hashFor([...Object.entries(f), ['page_token', prevToken]]);
  });
  fillSparklines(view);
}

function card(p) {
  return `<div class="card product" data-id="${esc(p.productId)}">
    <a class="title" href="#/product/${encodeURIComponent(p.productId)}">${esc(p.title || p.productId)}</a>
    <div class="muted">${esc(p.brand)} · ${esc(p.category)} · ${price(p.priceCents)}</div>
    <div class="stats">
      <span class="stat"><b>${num(p.averageRating, 1)}★</b>rating</span>
      <span class="stat"><b class="${sentimentClass(p.sentiment)}">${num(p.sentiment)}</b>sentiment</span>
      <span class="stat"><b>${p.noReviewsYet ? '–' : int(p.reviewCount)}</b>${p.noReviewsYet ? 'no reviews yet' : 'reviews'}</span>
      <span class="stat"><b>${num(p.reviewsPerWeek, 1)}</b>per week</span>
    </div>
    ${p.openAlerts > 0 ? `<a class="badge alert-badge" href="#/alerts?product_id=${encodeURIComponent(p.productId)}">${p.openAlerts} open alert${p.openAlerts > 1 ? 's' : ''}</a>` : ''}
    ${p.noReviewsYet ? '' : `<div class="spark" data-spark="${esc(p.productId)}"></div>`}
  </div>`;
}

// A small weekly rating / sentiment sparkline per card (the list carries no series: one product read each,
// after the cards are shown; a failed read just leaves the card without one).
const sparkLine = (values, lo, hi, cls) => {
  if (values.length < 2) return '';
  const w = 120, h = 28;
  const pts = values.map((v, i) => `${((i * w) / (values.length - 1)).toFixed(1)},${(h - ((v - lo) * h) / (hi - lo)).toFixed(1)}`);
  return `<polyline class="${cls}" points="${pts.join(' ')}"/>`;
};
export function fillSparklines(root) {
  root.querySelectorAll('[data-spark]').forEach(async (el) => {
    try {
      const p = await api.product(el.dataset.spark);
      const weeks = (p.weekly || []).slice(-26);
      el.innerHTML = weeks.length < 2 ? '' : `<svg viewBox="0 0 120 28" width="120" height="28" role="img"
        aria-label="weekly rating and sentiment">${sparkLine(weeks.map((w) => w.averageRating), 1, 5, 'spark-rating')}
        ${sparkLine(weeks.map((w) => w.sentiment), -1, 1, 'spark-sentiment')}</svg>`;
    } catch (_) { /* no sparkline */ }
  });
}
