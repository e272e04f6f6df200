// Drives the dashboard in a real headless Chromium (Debian's `chromium`) over the DevTools protocol, with
// no npm package: Node's built-in WebSocket (--experimental-websocket on Node 20) speaks CDP directly.
// Run by dashboard_test.cc, which starts the gateway (with the compiled-in dashboard) against the fake
// backends and passes BASE_URL, API_KEY and SCREENSHOT_DIR. Exits non-zero on the first failed check.
//
// Checks: the page asks for a key (401) and works once one is entered; the grid loads with data; category,
// sentiment and search filters change the results; paging forward and back; clicking a product opens its
// page with the three weekly charts, the price/stock history, issue cards with quotes and feature feedback;
// the alerts page; the recommendations page with a shopper picked from the collected shoppers (by segment),
// items with title/category/price, where Skip sends feedback and the list changes live; the campaigns list
// and a campaign's top performers; the upload page (a CSV written here, picked with DOM.setFileInputFiles:
// the report with accepted/rejected counts and each reject's line and reason; a .pdf gets the 415 message);
// no uncaught JavaScript error anywhere. Screenshots of every page go to SCREENSHOT_DIR.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = process.env.BASE_URL;
const KEY = process.env.API_KEY;
const SHOTS = process.env.SCREENSHOT_DIR || tmpdir();
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(SHOTS, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

// ---- Chromium and a minimal CDP client ---------------------------------------------------------------
const profile = mkdtempSync(join(tmpdir(), 'dashboard-chromium-'));
const browser = spawn(CHROMIUM, ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--no-first-run', '--no-default-browser-check', '--remote-debugging-port=0', `--user-data-dir=${profile}`,
  'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
let browserLog = '';
browser.stderr.on('data', (d) => { browserLog += d; });
process.on('exit', () => { try { browser.kill('SIGKILL'); } catch (_) {} rmSync(profile, { recursive: true, force: true }); });

const portFile = join(profile, 'DevToolsActivePort');
for (let i = 0; i < 200 && !existsSync(portFile); i++) await sleep(100);
if (!existsSync(portFile)) {
  console.error(`chromium did not start:\n${browserLog}`);
  process.exit(2);
}
const [port, wsPath] = readFileSync(portFile, 'utf8').trim().split('\n');
const ws = new WebSocket(`ws://127.0.0.1:${port}${wsPath}`);
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
let nextId = 0;
const pending = new Map();
const exceptions = [];
ws.onmessage = (ev) => {
  const msg = JSON.parse(ev.data);
  if (msg.id !== undefined && pending.has(msg.id)) {
    const { resolve, reject } = pending.get(msg.id);
    pending.delete(msg.id);
    msg.error ? reject(new Error(`${msg.error.message}`)) : resolve(msg.result);
  } else if (msg.method === 'Runtime.exceptionThrown') {
    exceptions.push(msg.params.exceptionDetails.exception?.description || msg.params.exceptionDetails.text);
  }
};
function send(method, params = {}, sessionId) {
  const id = ++nextId;
  ws.send(JSON.stringify({ id, method, params, sessionId }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
const page = (method, params) => send(method, params, sessionId);
await page('Page.enable');
await page('Runtime.enable');
await page('Emulation.setDeviceMetricsOverride', { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });

async function evaluate(expression) {
  const r = await page('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
  if (r.exceptionDetails) throw new Error(`${expression}: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
  return r.result.value;
}
async function waitFor(expression, what, timeout = 10000) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    try { if (await evaluate(expression)) return true; } catch (_) { /* page still loading */ }
    await sleep(100);
  }
  check(false, `${what} (waited for: ${expression})`);
  return false;
}
async function goto(url) {
  await page('Page.navigate', { url });
  await waitFor('document.readyState === "complete"', `load ${url}`);
}
// Waits until the router has finished rendering (aria-busy=false) on the expected view.
const settled = (view) => `document.body.dataset.view === ${JSON.stringify(view)} && document.getElementById('view').getAttribute('aria-busy') === 'false'`;
async function screenshot(name) {
  const { data } = await page('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
  writeFileSync(join(SHOTS, `${name}.png`), Buffer.from(data, 'base64'));
}
const text = (sel) => `(document.querySelector(${JSON.stringify(sel)})?.textContent || '')`;
const count = (sel) => `document.querySelectorAll(${JSON.stringify(sel)}).length`;
async function submitForm(sel, values) {
  await evaluate(`(() => { const f = document.querySelector(${JSON.stringify(sel)});
    for (const [k, v] of Object.entries(${JSON.stringify(values)})) f.elements[k].value = v;
    f.requestSubmit(); })()`);
}

try {
  // ---- No key yet: the API refuses, the page says what to do -------------------------------------------
  await goto(`${BASE}/`);
  await evaluate('localStorage.clear()');
  await goto(`${BASE}/#/products`);
  await waitFor(`!document.getElementById('error').hidden`, 'an error is shown without an API key');
  check((await evaluate(text('#error'))).includes('Enter an API key'), 'the error asks for an API key');
  await screenshot('00-no-key');

  // ---- Enter the key: the grid loads -------------------------------------------------------------------
  await evaluate(`document.getElementById('api-key').value = ${JSON.stringify(KEY)}; document.getElementById('key-form').requestSubmit()`);
  await waitFor(`${settled('products')} && ${count('.product')} > 0`, 'product cards load');
  check((await evaluate(count('.product'))) === 12, 'a full page of 12 products');
  check((await evaluate(text('#total'))).includes('30 matching'), 'the total is shown');
  check(await evaluate(`document.getElementById('error').hidden`), 'no error once the key is set');
  await screenshot('01-products');

  // ---- Paging ------------------------------------------------------------------------------------------
  const firstPage = await evaluate(`[...document.querySelectorAll('.product')].map(c => c.dataset.id).join(',')`);
  await evaluate(`document.getElementById('next').click()`);
  await waitFor(`${settled('products')} && ${text('#page')}.includes('Page 2')`, 'next page');
  const secondPage = await evaluate(`[...document.querySelectorAll('.product')].map(c => c.dataset.id).join(',')`);
  check(secondPage !== firstPage && secondPage.length > 0, 'the second page shows other products');
  await evaluate(`document.getElementById('prev').click()`);
  await waitFor(`${settled('products')} && ${text('#page')}.includes('Page 1')`, 'previous page');
  check((await evaluate(`[...document.querySelectorAll('.product')].map(c => c.dataset.id).join(',')`)) === firstPage,
    'back on the first page');

  // ---- Filters change the results ----------------------------------------------------------------------
  await submitForm('#filters', { category: 'kitchen' });
  await waitFor(`${settled('products')} && ${text('#total')}.includes('15 matching')`, 'category filter: 15 kitchen products');
  check(await evaluate(`[...document.querySelectorAll('.product .muted')].every(e => e.textContent.includes('kitchen'))`),
    'only kitchen products are shown');
  await submitForm('#filters', { category: 'kitchen', sentiment: 'negative' });
  await waitFor(`${settled('products')} && ${text('#total')}.includes('6 matching')`, 'sentiment filter narrows it further');
  await screenshot('02-products-filtered');
  await submitForm('#filters', { category: '', sentiment: '', q: 'hose' });
  await waitFor(`${settled('products')} && ${text('#total')}.includes('15 matching')`, 'search by title');
  check(await evaluate(`[...document.querySelectorAll('.product .title')].every(e => e.textContent.startsWith('Hose'))`),
    'only matching titles');
  await submitForm('#filters', { q: '', min_rating: '4' });
  await waitFor(`${settled('products')} && ${text('#total')}.includes('6 matching')`, 'rating filter');
  await evaluate(`document.getElementById('reset').click()`);
  await waitFor(`${settled('products')} && ${text('#total')}.includes('30 matching')`, 'reset filters');

  // ---- Click through to a product ----------------------------------------------------------------------
  await evaluate(`document.querySelector('.product[data-id="p4"] a.title, .product a.title').click()`);
  await waitFor(`${settled('product')} && ${text('#product-title')}.length > 0`, 'the product page opens');
  check((await evaluate(count('.charts:not(#price-history) [data-chart]'))) === 3, 'three weekly charts (rating, sentiment, velocity)');
  check((await evaluate(count('.charts:not(#price-history) [data-chart] polyline'))) === 3, 'the charts have lines');
  // The price history from the collector (six snapshots in the fake): price and stock charts.
  check((await evaluate(count('#price-history [data-chart="Price"] circle'))) === 6, 'a price chart with six observations');
  check((await evaluate(count('#price-history [data-chart="Stock"] polyline'))) === 1, 'a stock chart');
  const productId = await evaluate(`${text('#product-title + p')}.split(' · ').pop()`);
  const cents = 1000 + 100 * Number(productId.slice(1));  // the fake's newest price
  check((await evaluate(text('#price-history [data-chart="Price"]'))).includes(`latest $${(cents / 100).toFixed(2)}`),
    `the price chart ends at the newest price (${productId})`);
  check((await evaluate(text('#issues'))).includes('it broke after a week'), 'issue card with its quote');
  check((await evaluate(text('#features'))).includes('handle'), 'feature feedback');
  check((await evaluate(text('#reviews'))).includes('love it'), 'recent reviews');
  check((await evaluate(text('#past-changes'))).includes('recovered since'), 'past changes (resolved alerts) listed');
  await screenshot('03-product');

  // ---- Alerts ------------------------------------------------------------------------------------------
  await evaluate(`document.querySelector('nav a[data-nav="alerts"]').click()`);
  await waitFor(`${settled('alerts')} && ${count('.alert')} > 0`, 'alerts load');
  check((await evaluate(text('#alerts'))).includes('average rating fell'), 'the alert says what changed');
  check((await evaluate(text('#alerts'))).includes('after 2023-10-11'), 'the alert shows the interval its change lies in');
  check((await evaluate(text('#alerts'))).includes('between 2023-09-18 and 2023-11-09'), 'the alert shows how firm its date is');
  await screenshot('04-alerts');

  // ---- Recommendations: a real shopper from /api/v1/shoppers ----------------------------------------------
  await goto(`${BASE}/#/recommendations`);
  await waitFor(`${settled('recommendations')} && ${count('.rec')} === 10`, 'recommendations for the first shopper');
  check((await evaluate(count('#user option'))) === 8, 'the shopper picker lists the collected shoppers');
  check((await evaluate(`document.getElementById('user').value`)) === 'C0000001', 'the first shopper is picked');
  check((await evaluate(text('#user'))).includes('Shopper 3 · loyal'), 'shoppers shown with name and segment');
  check((await evaluate(text('.rec[data-item="p0"] .title'))) === 'Item p0', 'an item shows its title');
  check((await evaluate(text('.rec[data-item="p0"] .details'))).includes('kitchen · $10.00'), '... its category and price');
  check((await evaluate(text('.rec[data-item="p1"] .title'))) === 'p1', 'an item without a title shows its id');
  await evaluate(`(() => { const s = document.getElementById('segment'); s.value = 'new'; s.dispatchEvent(new Event('change')); })()`);
  await waitFor(`${settled('recommendations')} && ${count('#user option')} === 4 && document.getElementById('user').value === 'C0000002'`,
    'a segment lists only its shoppers');

  // ---- Recommendations with live feedback --------------------------------------------------------------
  await goto(`${BASE}/#/recommendations?user=C0000003&surface=home`);
  await waitFor(`${settled('recommendations')} && ${count('.rec')} === 10`, 'ten recommendations');
  check((await evaluate(text('.rec .reason'))).includes('popular on home'), 'each with its reason');
  const first = await evaluate(`document.querySelector('.rec').dataset.item`);
  await screenshot('05-recommendations');
  await evaluate(`document.querySelector('.rec button[data-event="FEEDBACK_EVENT_SKIP"]').click()`);
  await waitFor(`${text('#status')}.includes('Skipped ${first}')`, 'the skip is recorded');
  await waitFor(`document.querySelector('.rec') && document.querySelector('.rec').dataset.item !== ${JSON.stringify(first)}`,
    'the skipped item leaves the list at once');
  await evaluate(`document.querySelector('.rec button[data-event="FEEDBACK_EVENT_LIKE"]').click()`);
  await waitFor(`${text('#status')}.includes('Liked')`, 'a like is recorded');
  await screenshot('06-recommendations-after-feedback');

  // ---- Campaign top performers -------------------------------------------------------------------------
  await evaluate(`document.querySelector('nav a[data-nav="campaigns"]').click()`);
  await waitFor(`${settled('campaigns')} && ${count('.campaign')} === 3`, 'the collected campaigns are listed');
  check((await evaluate(text('.campaign[data-campaign="CMP0002"]'))).includes('200,000'), 'with their total views');
  check((await evaluate(text('.campaign[data-campaign="CMP0002"]'))).includes('4.0%'), 'and mean engagement');
  await waitFor(`${count('.performer')} === 10`, 'ten top performers of the first campaign');
  check((await evaluate(text('#performers'))).includes('CMP0001-inf0'), 'the campaign\'s influencers');
  await evaluate(`document.querySelector('.campaign[data-campaign="CMP0042"] a').click()`);
  await waitFor(`${settled('campaigns')} && ${text('#performers')}.includes('CMP0042-inf0')`, 'clicking another campaign');
  check((await evaluate(text('.campaign.selected'))).includes('CMP0042'), 'the clicked campaign is highlighted');
  await submitForm('#campaign-form', { campaign: 'CMP0001' });
  await waitFor(`${settled('campaigns')} && ${text('#performers')}.includes('CMP0001-inf0')`, 'a campaign by id');
  await screenshot('07-campaigns');

  // ---- Upload a file: the report with its rejects; a file of another type is refused (415) ---------------
  // The fake collector accepts a row with as many fields as the header and rejects the others (line, reason).
  const csvPath = join(profile, 'brief001-sample.csv');
  writeFileSync(csvPath, 'campaignId,influencerId,Platform,Post Date,views\r\n' +
    'CMP1,@ana,tiktok,2024-01-15,1200\r\nCMP1,@bo,youtube,2024-01-16\r\nCMP1,@cy,instagram,2024-01-17,90\r\n' +
    'CMP2,@di,tiktok,2024-01-18,5,extra\r\nCMP2,@ed,tiktok,2024-01-19,77\r\n');
  await goto(`${BASE}/upload.html`);
  await page('DOM.enable');
  const pickFile = async (path) => {
    const { result } = await page('Runtime.evaluate', { expression: `document.getElementById('file')` });
    await page('DOM.setFileInputFiles', { files: [path], objectId: result.objectId });
  };
  await pickFile(csvPath);
  check((await evaluate(`document.getElementById('file').files[0]?.name`)) === 'brief001-sample.csv', 'the file is picked');
  await evaluate(`document.getElementById('upload-form').requestSubmit()`);
  await waitFor(`${count('#report .card')} === 1`, 'the upload report appears');
  check((await evaluate(text('#report .summary'))) === 'rows 5 · accepted 3 · rejected 2 · duplicates 0',
    'the report counts rows, accepted and rejected');
  check((await evaluate(count('#report .rejects tr'))) === 3, 'both rejects are listed (and a header row)');
  // Each reject as "line/column/reason".
  const rejects = await evaluate(`[...document.querySelectorAll('#report .rejects tr')].slice(1)
    .map(tr => [...tr.cells].map(td => td.textContent).join('/'))`);
  check(rejects[0] === '3//malformed line: 4 fields but the header has 5', `the cut row's line and reason (${rejects[0]})`);
  check(rejects[1] === '5//malformed line: 6 fields but the header has 5', `the long row's line and reason (${rejects[1]})`);
  check((await evaluate(text('#status'))) === 'done', 'the status says done');
  check(await evaluate(`document.getElementById('error').hidden`), 'no error after a good upload');
  await screenshot('08-upload');

  const pdfPath = join(profile, 'notes.pdf');
  writeFileSync(pdfPath, '%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n');
  await pickFile(pdfPath);
  await evaluate(`document.getElementById('upload-form').requestSubmit()`);
  await waitFor(`!document.getElementById('error').hidden`, 'an unknown file type shows an error');
  const refusal = await evaluate(text('#error'));
  check(refusal.startsWith('415: unsupported Content-Type "application/pdf"'), `the 415 message is shown (${refusal})`);
  check(refusal.includes('text/csv') && refusal.includes('(field: content_type)'), 'it says what the gateway reads');
  check((await evaluate(count('#report .card'))) === 0, 'no report for a refused file');
  await screenshot('09-upload-refused');
} catch (e) {
  check(false, `unexpected: ${e.stack || e}`);
  await screenshot('99-failure').catch(() => {});
}

check(exceptions.length === 0, `no uncaught JavaScript error${exceptions.length ? `: ${exceptions.join(' | ')}` : ''}`);
console.log(`${failures === 0 ? 'dashboard: all checks passed' : `dashboard: ${failures} check(s) failed`}; screenshots in ${SHOTS}`);
ws.close();
process.exit(failures === 0 ? 0 : 1);
