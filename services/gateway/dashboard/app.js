// The dashboard: plain ES modules served by the gateway, no build step. Hash routes:
//   #/products?category=&sentiment=&min_rating=&q=&sort=&page_token=   product grid with filters and paging
//   #/product/<id>                                                      one product's insights
//   #/alerts                                                            open alerts
//   #/recommendations?segment=&user=<id>&surface=                      a shopper's recommendations, like/skip
//   #/campaigns?campaign=<id>                                           campaigns, then one's top performers
import { apiKey, setApiKey } from './api.js';
import * as products from './views/products.js';
import * as product from './views/product.js';
import * as alerts from './views/alerts.js';
import * as recommendations from './views/recommendations.js';
import * as campaigns from './views/campaigns.js';

const views = { products, product, alerts, recommendations, campaigns };
const main = document.getElementById('view');
const errorBox = document.getElementById('error');

export function showError(e) {
  let text = e && e.message ? e.message : String(e);
  if (e && e.status === 401) text = `${text}. Enter an API key above.`;
  if (e && e.field) text += ` (field: ${e.field})`;
  errorBox.textContent = text;
  errorBox.hidden = false;
}

export function clearError() { errorBox.hidden = true; errorBox.textContent = ''; }

function parseHash() {
  const h = location.hash.replace(/^#\/?/, '') || 'products';
  const [path, qs] = h.split('?');
  const [name, ...rest] = path.split('/');
  return { name: name || 'products', args: rest.map(decodeURIComponent), params: new URLSearchParams(qs || '') };
}

let generation = 0;
async function route() {
  const { name, args, params } = parseHash();
  const view = views[name] || products;
  document.querySelectorAll('nav a').forEach((a) => {
    a.classList.toggle('active', a.dataset.nav === name || (name === 'product' && a.dataset.nav === 'products'));
  });
  clearError();
  const mine = ++generation;
  main.setAttribute('aria-busy', 'true');
  try {
    await view.render(main, args, params, () => mine === generation);
  } catch (e) {
    if (mine === generation) showError(e);
  } finally {
    if (mine === generation) {
      main.setAttribute('aria-busy', 'false');
      document.body.dataset.view = name;
    }
  }
}

document.getElementById('api-key').value = apiKey();
document.getElementById('key-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  setApiKey(document.getElementById('api-key').value.trim());
  route();
});
window.addEventListener('hashchange', route);
route();
