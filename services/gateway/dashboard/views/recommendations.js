// A demo shopper's recommendations with their reasons; Like / Skip send feedback to the recommender at once
// and the list is fetched again, so the effect of the feedback shows live.
import { api } from '../api.js';
import { esc, num } from '../format.js';

const DEMO_SHOPPERS = ['C0000001', 'C0000002', 'C0000003', 'C0000004', 'C0000005', 'C0000006', 'C0000007', 'C0000008'];
const SURFACES = ['home', 'product', 'cart', 'email'];

export async function render(view, _args, params, current) {
  const user = params.get('user') || DEMO_SHOPPERS[0];
  const surface = params.get('surface') || 'home';
  view.innerHTML = `
    <h1>Recommendations</h1>
    <form class="filters" id="shopper">
      <label>Shopper <input name="user" id="user" list="shoppers" value="${esc(user)}"></label>
      <datalist id="shoppers">${DEMO_SHOPPERS.map((s) => `<option value="${s}">`).join('')}</datalist>
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
      <div><a class="title" href="#/product/${encodeURIComponent(r.itemId)}">${esc(r.itemId)}</a>
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
