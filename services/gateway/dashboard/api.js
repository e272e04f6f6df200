// The REST API as the dashboard uses it: the API key from localStorage on every request, JSON in and out,
// and errors (ErrorBody: {"error":{"code","message","field"}}) thrown as ApiError.
const KEY = 'marketlens.apiKey';

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || '';
    this.field = e.field || '';
  }
}

export function apiKey() { return localStorage.getItem(KEY) || ''; }
export function setApiKey(key) { key ? localStorage.setItem(KEY, key) : localStorage.removeItem(KEY); }

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x)); else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function call(method, path, { params, body } = {}) {
  const headers = { Accept: 'application/json' };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path + query(params), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : {}; } catch (_) { json = null; }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

export const api = {
  products: (params) => call('GET', '/api/v1/products', { params }),
  product: (id) => call('GET', `/api/v1/products/${encodeURIComponent(id)}`),
  reviews: (id, params) => call('GET', `/api/v1/products/${encodeURIComponent(id)}/reviews`, { params }),
  alerts: (params) => call('GET', '/api/v1/alerts', { params }),
  recommendations: (params) => call('GET', '/api/v1/recommendations', { params }),
  feedback: (body) => call('POST', '/api/v1/feedback', { body }),
  topPerformers: (params) => call('GET', '/api/v1/top-performers', { params }),
  priceHistory: (id, params) => call('GET', `/api/v1/products/${encodeURIComponent(id)}/price-history`, { params }),
  shoppers: (params) => call('GET', '/api/v1/shoppers', { params }),
  campaigns: (params) => call('GET', '/api/v1/campaigns', { params }),
};
