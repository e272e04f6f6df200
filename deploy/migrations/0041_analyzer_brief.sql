-- Analyzer (services/analyzer), GenerateBrief: what performs on a platform is learned from the platform's
-- newest campaign posts (captions and hashtags, 0012), read by lower(platform) newest first; the
-- platform's engagement aggregates filter the same way.
CREATE INDEX campaign_posts_platform_idx ON raw.campaign_posts (lower(platform), posted_at DESC, id);
