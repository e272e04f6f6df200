// Campaigns: every campaign seen in the collected influencer posts (GET /api/v1/campaigns: posts,
// influencers, views, mean engagement), then the top-performing influencers of the selected one.
import { api } from '../api.js';
import { esc, num, int, date } from '../format.js';

export async function render(view, _args, params, current) {
  const list = await api.campaigns({ page_size: 100 });
  if (!current()) return;
  const campaigns = list.campaigns || [];
  const campaign = params.get('campaign') || (campaigns[0] && campaigns[0].campaignId) || '';
  const resp = campaign ? await api.topPerformers({ campaignId: campaign, limit: 10 }) : { performers: [] };
  if (!current()) return;
  const rows = resp.performers || [];
  view.innerHTML = `
    <h1>Campaigns</h1>
    <table id="campaigns"><thead><tr><th>Campaign</th><th>Posts</th><th>Influencers</th><th>Views</th><th>Mean engagement</th><th>Posted</th></tr></thead>
    <tbody>${campaigns.map((c) => `<tr class="campaign${c.campaignId === campaign ? ' selected' : ''}" data-campaign="${esc(c.campaignId)}">
      <td><a href="#/campaigns?campaign=${encodeURIComponent(c.campaignId)}">${esc(c.campaignId)}</a></td>
      <td>${int(c.posts)}</td><td>${int(c.influencers)}</td><td>${int(c.totalViews)}</td>
      <td>${num(c.meanEngagementRate * 100, 1)}%</td><td>${date(c.firstPostAt)} – ${date(c.lastPostAt)}</td></tr>`).join('') ||
      '<tr><td colspan="6" class="muted">No campaign posts collected yet.</td></tr>'}</tbody></table>
    <h2>Top performers${campaign ? ` of <span id="campaign-name">${esc(campaign)}</span>` : ''}</h2>
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
