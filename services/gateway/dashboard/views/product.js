// One product: weekly rating / sentiment / review-velocity charts, issue cards with quotes, feature
// feedback, price history (the collector's snapshots: price and stock per crawl), open alerts, past changes
// (resolved alerts: reverted or resolved by a user) and recent reviews.
import { api } from '../api.js';
import { esc, num, int, price, date, sentimentClass } from '../format.js';
import { lineChart } from '../chart.js';

export async function render(view, args, params, current) {
  const id = args[0] || '';
  const evidence = (params && params.get('review')) || '';  // an alert's evidence link: show and mark it
  // The price history is a nice-to-have: the page still renders without it (a collector that is down).
  const [p, reviews, prices, past] = await Promise.all([
    api.product(id),
    api.reviews(id, { page_size: evidence ? 100 : 5 }).catch(() => ({ reviews: [] })),
    api.priceHistory(id, { page_size: 200 }).catch(() => null),
    api.alerts({ product_id: id, state: 'resolved', page_size: 20 }).catch(() => ({ alerts: [] }))]);
  if (!current()) return;
  const weekly = (p.weekly || []).map((w) => ({ label: date(w.weekStart), ...w }));
  // Newest first from the API; oldest first on the chart.
  const history = ((prices && prices.points) || []).slice().reverse();
  const currency = (prices && prices.currency) || 'USD';
  const money = (v) => (currency === 'USD' ? `$${v.toFixed(2)}` : `${v.toFixed(2)} ${currency}`);
  view.innerHTML = `
    <p><a href="#/products">← Products</a></p>
    <h1 id="product-title">${esc(p.title || p.productId)}</h1>
    <p class="muted">${esc(p.brand)} · ${esc(p.category)} · ${esc(p.productId)}</p>
    <div class="stats card">
      <span class="stat"><b>${num(p.averageRating, 2)}★</b>average rating</span>
      <span class="stat"><b class="${sentimentClass(p.sentiment)}">${num(p.sentiment)}</b>sentiment ${esc(p.sentimentLabel || '')}</span>
      <span class="stat"><b>${int(p.reviewCount)}</b>reviews</span>
      <span class="stat"><b>${num(p.reviewsPerWeek, 1)}</b>reviews / week (trend ${num(p.velocityTrend)})</span>
      <span class="stat"><b>${price(p.priceCents)}</b>price</span>
    </div>
    <h2>Weekly history</h2>
    <div class="charts">
      ${lineChart('Average rating', weekly.map((w) => ({ label: w.label, y: w.averageRating })), { min: 1, max: 5 })}
      ${lineChart('Sentiment', weekly.map((w) => ({ label: w.label, y: w.sentiment })), { min: -1, max: 1 })}
      ${lineChart('Review velocity (reviews per week)', weekly.map((w) => ({ label: w.label, y: w.reviews })), { min: 0, format: (v) => v.toFixed(0) })}
    </div>
    <h2>Price history</h2>
    <div class="charts" id="price-history">
      ${history.length ? `${lineChart('Price', history.map((h) => ({ label: date(h.seenAt), y: Number(h.price) })), { format: money })}
      ${lineChart('Stock', history.map((h) => ({ label: date(h.seenAt), y: Number(h.stock) })), { min: 0, format: (v) => v.toFixed(0) })}`
    : `<p class="muted">${prices ? 'No price observed by the collector yet.' : 'Price history unavailable right now.'} Current price ${price(p.priceCents)}.</p>`}
    </div>
    <h2>Issues</h2>
    <div class="grid" id="issues">
      ${(p.issues || []).length === 0 ? '<p class="muted">No recurring issue.</p>' : p.issues.map((i) => `
        <div class="card issue">
          <b>${esc(i.category.replace(/_/g, ' '))}</b> <span class="muted">${int(i.count)} reviews · ${num(i.share * 100, 0)}%</span>
          <div class="bar"><span style="width:${Math.min(100, i.share * 100).toFixed(0)}%"></span></div>
          ${(i.quotes || []).slice(0, 3).map((q) => `<div class="quote">“${esc(q)}”</div>`).join('')}
        </div>`).join('')}
    </div>
    <h2>Feature feedback</h2>
    <table id="features"><thead><tr><th>Feature</th><th>Mentions</th><th>Polarity</th></tr></thead><tbody>
      ${(p.features || []).map((f) => `<tr><td>${esc(f.aspect)}</td><td>${int(f.mentions)}</td><td class="${sentimentClass(f.polarity)}">${num(f.polarity)}</td></tr>`).join('') || '<tr><td colspan="3" class="muted">No feature mentioned yet.</td></tr>'}
    </tbody></table>
    ${(p.alerts || []).length ? `<h2>Open alerts</h2>${p.alerts.map((a) => `<div class="card"><b>${esc(a.kind)}</b> ${esc(a.message)}
      ${(a.evidenceReviewIds || []).map((r, i) => `<a href="#/product/${encodeURIComponent(p.productId)}?review=${encodeURIComponent(r)}">review ${i + 1}</a>`).join(' ')}</div>`).join('')}` : ''}
    ${(past.alerts || []).length ? `<h2>Past changes</h2><div id="past-changes">${past.alerts.map((a) => `<div class="card"><b>${esc(a.kind)}</b> ${esc(a.message)}
      <span class="muted">${a.since ? date(a.since) : ''} → ${a.resolvedAt ? date(a.resolvedAt) : ''}</span>
      ${(a.evidenceReviewIds || []).map((r, i) => `<a href="#/product/${encodeURIComponent(p.productId)}?review=${encodeURIComponent(r)}">review ${i + 1}</a>`).join(' ')}</div>`).join('')}</div>` : ''}
    <h2>Recent reviews</h2>
    <div id="reviews">${(reviews.reviews || []).filter((r) => !evidence || r.reviewId === evidence).slice(0, evidence ? 1 : 5).map((r) => `<div class="card${r.reviewId === evidence ? ' evidence' : ''}" id="review-${esc(r.reviewId)}"><b>${'★'.repeat(r.rating || 0)}</b> ${esc(r.title || '')}
      <div>${esc(r.text)}</div><div class="muted">${date(r.createdAt)}</div></div>`).join('') || '<p class="muted">No reviews.</p>'}</div>`;
}
