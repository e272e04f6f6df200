// A real shopper's recommendations with their reasons: the shopper is picked from the collected customers
// (GET /api/v1/shoppers, optionally of one segment); Like / Skip send feedback to the recommender at once
// and the list is fetched again, so the effect of the feedback shows live.
import { api } from '../api.js';
import { esc, num } from '../format.js';

const SURFACES = ['home', 'product', 'cart', 'email'];

export async function render(view, _args, params, current) {
  const segment = params.get('segment') || '';
  const surface = params.get('surface') || 'home';
  const [shoppers, all] = await Promise.all([
    api.shoppers({ page_size: 100, segment }),
    segment ? api.shoppers({ page_size: 500 }) : null]);
  if (!current()) return;
  const list = shoppers.shoppers || [];
  const segments = [...new Set(((all || shoppers).shoppers || []).map((s) => s.segment).filter(Boolean))].sort();
  const user = params.get('user') || (list[0] && list[0].id) || '';
  const options = list.some((s) => s.id === user) || !user ? list : [{ id: user, name: '', segment: '' }, ...list];
  view.innerHTML = `
    <h1>Recommendations</h1>
    <form class="filters" id="shopper">
      <label>Segment <select name="segment" id="segment"><option value="">all</option>${segments.map((g) =>
        `<option ${g === segment ? 'selected' : ''}>${esc(g)}</option>`).join('')}</select></label>
      <label>Shopper <select name="user" id="user">${options.map((s) =>
        `<option value="${esc(s.id)}" ${s.id === user ? 'selected' : ''}>${esc(s.name || s.id)}${s.segment ? ` · ${esc(s.segment)}` : ''}${s.interactions !== undefined ? ` · ${Number(s.interactions || 0)} interactions` : ''} (${esc(s.id)})</option>`).join('')}</select></label>
      <label>Surface <select name="surface">${SURFACES.map((s) => `<option ${s === surface ? 'selected' : ''}>${s}</option>`).join('')}</select></label>
      <button type="submit">Show</button>
    </form>
    <p class="muted" id="model"></p>
    <p id="status" class="muted" aria-live="polite"></p>
    <div id="recs"></div>`;
  view.querySelector('#shopper').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(ev.target);
    location.hash = `#/recommendations?${new URLSearchParams(data)}`;
  });
  // Another segment lists its own shoppers (and picks the first of them).
  view.querySelector('#segment').addEventListener('change', (ev) => {
    location.hash = `#/recommendations?${new URLSearchParams({ segment: ev.target.value, surface })}`;
  });
  if (!user) {
    view.querySelector('#recs').innerHTML = '<p class="muted">No shopper collected yet: run a crawl first.</p>';
    return;
  }
  await load(view, user, surface, current);
}

async function load(view, user, surface, current) {
  const resp = await api.recommendations({ user_id: user, n: 10, surface });
  if (!current()) return;
  const items = resp.items || [];
  view.querySelector('#model').textContent =
    `model ${resp.modelVersion || '?'}${resp.experimentId ? ` · experiment ${resp.experimentId} (${resp.variant})` : ''}`;
  const box = view.querySelector('#recs');
  box.innerHTML = items.map((r) => `
    <div class="card rec" data-item="${esc(r.itemId)}">
      <div><a class="title" href="#/product/${encodeURIComponent(r.itemId)}">${esc(r.title || r.itemId)}</a>
        <div class="muted details">${[r.category, r.price ? `$${num(r.price, 2)}` : '', r.title ? r.itemId : ''].filter(Boolean).map(esc).join(' · ')}</div>
        <div class="muted reason">${esc(r.reason)}</div>
        <div class="muted">score ${num(r.score, 3)} · ${esc(r.source)}</div></div>
      <div class="actions">
        <button data-event="FEEDBACK_EVENT_LIKE" data-item="${esc(r.itemId)}">Like</button>
        <button class="secondary" data-event="FEEDBACK_EVENT_SKIP" data-item="${esc(r.itemId)}">Skip</button>
      </div>
    </div>`).join('') || '<p class="muted">No recommendations for this shopper.</p>';
  box.querySelectorAll('button[data-event]').forEach((b) => b.addEventListener('click', async () => {
    box.querySelectorAll('button').forEach((x) => { x.disabled = true; });
    const status = view.querySelector('#status');
    try {
      await api.feedback({ userId: user, itemId: b.dataset.item, event: b.dataset.event,
                           experimentId: resp.experimentId || '', variant: resp.variant || '', surface });
      status.textContent = `${b.dataset.event === 'FEEDBACK_EVENT_LIKE' ? 'Liked' : 'Skipped'} ${b.dataset.item}`;
      await load(view, user, surface, current);
    } catch (e) {
      status.textContent = `Feedback failed: ${e.message}`;
      box.querySelectorAll('button').forEach((x) => { x.disabled = false; });
    }
  }));
}
