-- Collector (services/collector), batch ingest of CSV files: the engagement rate of campaign posts.
--
-- The engagement rate of an influencer post, (likes + comments + shares) / views, computed by the database
-- whenever a row is written, so that CSV ingest and the crawler can never disagree on it. NULL when
-- views = 0: the rate is undefined then, which is not the same as a rate of zero.
ALTER TABLE raw.campaign_posts
  ADD COLUMN engagement_rate double precision
  GENERATED ALWAYS AS (CASE WHEN views > 0 THEN (likes + comments + shares)::double precision / views END) STORED;

