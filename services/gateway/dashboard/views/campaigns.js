// A campaign's top-performing influencers.
import { api } from '../api.js';
import { esc, num, int } from '../format.js';

export async function render(view, _args, params, current) {
  const campaign = params.get('campaign') || 'CMP0001';
  const resp = await api.topPerformers({ campaignId: campaign, limit: 10 });
  if (!current()) return;
  const rows = resp.performers || [];
  view.innerHTML = `
    <h1>Campaign top performers</h1>
    <form class="filters" id="campaign-form">
      <label>Campaign <input name="campaign" value="${esc(campaign)}"></label>
      <button type="submit">Show</button>
    </form>
    <table id="performers"><thead><tr><th>#</th><th>Influencer</th><th>Platform</th><th>Posts</th><th>Views</th><th>Engagement</th></tr></thead>
    <tbody>${rows.map((p, i) => `<tr class="performer"><td>${i + 1}</td><td>${esc(p.influencer)}</td><td>${esc(p.platform)}</td>
      <td>${int(p.posts)}</td><td>${int(p.views)}</td><td>${num(p.engagementRate * 100, 1)}%</td></tr>`).join('') ||
      '<tr><td colspan="6" class="muted">No posts for this campaign.</td></tr>'}</tbody></table>`;
  view.querySelector('#campaign-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = `#/campaigns?campaign=${encodeURIComponent(new FormData(ev.target).get('campaign'))}`;
  });
}
