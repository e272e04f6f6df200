-- What an influencer's post says: its caption and hashtags (lower-case, without '#'), so the analyzer's
-- GenerateBrief can learn which hashtags and angles perform on each platform. Filled by the crawl
-- (marketplace CampaignPost.caption/hashtags) and by campaign-post CSV ingest (optional columns).
ALTER TABLE raw.campaign_posts
  ADD COLUMN caption  text   NOT NULL DEFAULT '',
  ADD COLUMN hashtags text[] NOT NULL DEFAULT '{}';
