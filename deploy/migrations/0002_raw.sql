-- raw.*: marketplace data as collected (field names follow protos/marketlens/marketplace/v1).
-- Rows are upserted by id; first_seen_at/last_seen_at record when the collector saw them. No foreign
-- keys between resources: the collector crawls them independently (reviews may arrive before their
-- product), so raw accepts whatever the source says.

CREATE TABLE raw.products (
  id             text PRIMARY KEY,
  title          text NOT NULL,
  brand          text NOT NULL DEFAULT '',
  category       text NOT NULL DEFAULT '',
  description    text NOT NULL DEFAULT '',
  price_cents    bigint NOT NULL CHECK (price_cents >= 0),
  currency       text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
  stock          integer NOT NULL DEFAULT 0,
  margin         double precision CHECK (margin BETWEEN 0 AND 1),
  launch_date    timestamptz,
  rating_average double precision NOT NULL DEFAULT 0 CHECK (rating_average BETWEEN 0 AND 5),
  rating_count   integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
  attributes     jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at     timestamptz NOT NULL,               -- the source's updated_at
  first_seen_at  timestamptz NOT NULL DEFAULT now(),
  last_seen_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_category_idx ON raw.products (category, id);
CREATE INDEX products_brand_idx ON raw.products (brand);
CREATE INDEX products_updated_at_idx ON raw.products (updated_at);

-- Price, stock and rating over time: one row per product and observation. Append-only.
CREATE TABLE raw.product_snapshots (
  product_id     text NOT NULL REFERENCES raw.products (id),
  seen_at        timestamptz NOT NULL,
  price_cents    bigint NOT NULL CHECK (price_cents >= 0),
  stock          integer NOT NULL,
  rating_average double precision NOT NULL,
  rating_count   integer NOT NULL,
  crawl_id       uuid,                               -- ops.crawls.id of the crawl that saw it
  PRIMARY KEY (product_id, seen_at)
);
CREATE INDEX product_snapshots_seen_at_idx ON raw.product_snapshots (seen_at);
CREATE TRIGGER product_snapshots_append_only
  BEFORE UPDATE OR DELETE ON raw.product_snapshots
  FOR EACH ROW EXECUTE FUNCTION raw.forbid_update_delete();

-- The current version of each review.
CREATE TABLE raw.reviews (
  id                text PRIMARY KEY,
  product_id        text NOT NULL,
  customer_id       text NOT NULL DEFAULT '',
  rating            smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  title             text NOT NULL DEFAULT '',
  text              text NOT NULL DEFAULT '',
  verified_purchase boolean NOT NULL DEFAULT false,
  helpful_votes     integer NOT NULL DEFAULT 0 CHECK (helpful_votes >= 0),
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  version           integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  first_seen_at     timestamptz NOT NULL DEFAULT now(),
  last_seen_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_product_created_idx ON raw.reviews (product_id, created_at DESC, id);
CREATE INDEX reviews_customer_idx ON raw.reviews (customer_id);
CREATE INDEX reviews_updated_at_idx ON raw.reviews (updated_at, id);

-- Every version of every review (an edit adds a row; the analyzer can tell what changed). Append-only.
CREATE TABLE raw.review_versions (
  review_id     text NOT NULL,
  version       integer NOT NULL CHECK (version >= 1),
  rating        smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  title         text NOT NULL DEFAULT '',
  text          text NOT NULL DEFAULT '',
  helpful_votes integer NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL,
  seen_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (review_id, version)
);
CREATE TRIGGER review_versions_append_only
  BEFORE UPDATE OR DELETE ON raw.review_versions
  FOR EACH ROW EXECUTE FUNCTION raw.forbid_update_delete();

CREATE TABLE raw.customers (
  id            text PRIMARY KEY,
  name          text NOT NULL DEFAULT '',
  email         text NOT NULL DEFAULT '',
  occupation    text NOT NULL DEFAULT '',
  segment       text NOT NULL DEFAULT '',             -- "new", "loyal", "business", "bargain_hunter", ...
  region        text NOT NULL DEFAULT '',
  created_at    timestamptz,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_segment_idx ON raw.customers (segment);

-- Views, carts, purchases and ratings: from the crawl or from an ingested CSV file (ingest_file_id).
CREATE TABLE raw.interactions (
  id             text PRIMARY KEY,
  customer_id    text NOT NULL,
  product_id     text NOT NULL,
  type           text NOT NULL CHECK (type IN ('view', 'add_to_cart', 'purchase', 'rating')),
  rating         smallint CHECK (rating BETWEEN 1 AND 5),
  session_id     text NOT NULL DEFAULT '',
  device         text NOT NULL DEFAULT '',             -- "mobile", "desktop", "tablet"
  occurred_at    timestamptz NOT NULL,
  ingest_file_id uuid,
  first_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX interactions_customer_idx ON raw.interactions (customer_id, occurred_at);
CREATE INDEX interactions_product_idx ON raw.interactions (product_id, occurred_at);
CREATE INDEX interactions_occurred_at_idx ON raw.interactions (occurred_at, id);

-- Influencer posts per campaign (crawled or ingested from CSV).
CREATE TABLE raw.campaign_posts (
  id             text PRIMARY KEY,
  campaign_id    text NOT NULL,
  influencer     text NOT NULL,
  platform       text NOT NULL,                         -- "instagram", "tiktok", "youtube", ...
  product_id     text NOT NULL DEFAULT '',
  views          bigint NOT NULL DEFAULT 0 CHECK (views >= 0),
  likes          bigint NOT NULL DEFAULT 0 CHECK (likes >= 0),
  comments       bigint NOT NULL DEFAULT 0 CHECK (comments >= 0),
  shares         bigint NOT NULL DEFAULT 0 CHECK (shares >= 0),
  posted_at      timestamptz NOT NULL,
  ingest_file_id uuid,
  first_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaign_posts_campaign_idx ON raw.campaign_posts (campaign_id, influencer);
CREATE INDEX campaign_posts_product_idx ON raw.campaign_posts (product_id);

-- Customer-service contacts (email, call, chat), used to ground generated content.
CREATE TABLE raw.contacts (
  id             text PRIMARY KEY,
  customer_id    text NOT NULL,
  started_at     timestamptz NOT NULL,
  channel        text NOT NULL,                         -- "email", "call", "chat"
  topic          text NOT NULL DEFAULT '',
  sentiment      double precision CHECK (sentiment BETWEEN -1 AND 1),
  notes          text NOT NULL DEFAULT '',
  product_id     text NOT NULL DEFAULT '',
  ingest_file_id uuid,
  first_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_customer_idx ON raw.contacts (customer_id, started_at DESC);
