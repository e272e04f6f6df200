-- ops.*: crawl runs and their per-resource checkpoints, so that a crawl resumes where it stopped after
-- a crash (protos/marketlens/collector/v1: Crawl, ResourceProgress).

CREATE TABLE ops.crawls (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  mode         text NOT NULL CHECK (mode IN ('full', 'incremental')),
  state        text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
  resources    text[] NOT NULL DEFAULT '{}',                -- empty: all
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  heartbeat_at timestamptz NOT NULL DEFAULT now(),          -- a running crawl with an old heartbeat died
  pages        bigint NOT NULL DEFAULT 0,
  items        bigint NOT NULL DEFAULT 0,
  retries      bigint NOT NULL DEFAULT 0,
  errors       bigint NOT NULL DEFAULT 0,
  last_error   text NOT NULL DEFAULT ''
);
CREATE INDEX crawls_started_at_idx ON ops.crawls (started_at DESC, id);
CREATE INDEX crawls_active_idx ON ops.crawls (state) WHERE state IN ('pending', 'running');

-- Where each resource of a crawl stands: the next page token to fetch and, for incremental crawls, the
-- newest updated_at seen (the `since` of the next incremental crawl).
CREATE TABLE ops.crawl_checkpoints (
  crawl_id   uuid NOT NULL REFERENCES ops.crawls (id) ON DELETE CASCADE,
  resource   text NOT NULL
               CHECK (resource IN ('products', 'reviews', 'customers', 'interactions', 'campaign_posts', 'contacts')),
  page_token text NOT NULL DEFAULT '',
  pages      bigint NOT NULL DEFAULT 0,
  items      bigint NOT NULL DEFAULT 0,
  done       boolean NOT NULL DEFAULT false,
  watermark  timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (crawl_id, resource)
);
