-- Collector (services/collector), crawling: leases on running crawls, per-resource crawl state, page
-- failures, the review announcement outbox, and the source's time on product snapshots.

-- Who runs a crawl: a collector instance holds it while its heartbeat is fresh; a crawl whose owner died
-- (kill -9, node loss) is taken over by the next collector that sees the stale heartbeat, and resumes from
-- its checkpoints. `resumes` counts those take-overs.
ALTER TABLE ops.crawls ADD COLUMN owner text NOT NULL DEFAULT '';
ALTER TABLE ops.crawls ADD COLUMN resumes integer NOT NULL DEFAULT 0;
-- RESOURCE_EXHAUSTED answers received from the marketplace (the client-side limiter keeps this at 0).
ALTER TABLE ops.crawls ADD COLUMN rate_limited bigint NOT NULL DEFAULT 0;

-- One crawl at a time: they would share (and fight over) the same marketplace rate limit.
CREATE UNIQUE INDEX crawls_one_active_idx ON ops.crawls ((true)) WHERE state IN ('pending', 'running');

-- Per resource of a crawl:
--   since           the filter of this walk (incremental: changed at or after it, source clock; NULL: all).
--                   Page tokens are only valid with the same filter, so a resumed walk reuses it.
--   watermark       (0004) the source's clock when the walk began: once the walk is done, the next
--                   incremental walk asks for changes since then (keyset order is by id, so a change made
--                   behind the cursor during the walk is only caught that way).
--   expected_items  what the source said it had when the walk began (full walks; for the ETA).
--   error           why the walk gave up on a page (after its bounded tries).
ALTER TABLE ops.crawl_checkpoints ADD COLUMN since timestamptz;
ALTER TABLE ops.crawl_checkpoints ADD COLUMN expected_items bigint NOT NULL DEFAULT 0;
ALTER TABLE ops.crawl_checkpoints ADD COLUMN error text NOT NULL DEFAULT '';
-- The newest completed walk of a resource gives the next incremental crawl its `since`.
CREATE INDEX crawl_checkpoints_done_idx ON ops.crawl_checkpoints (resource, watermark DESC) WHERE done;

-- Pages given up on, with the reason (ops.crawls.last_error holds only the last one).
CREATE TABLE ops.crawl_errors (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  crawl_id   uuid NOT NULL REFERENCES ops.crawls (id) ON DELETE CASCADE,
  resource   text NOT NULL,
  page_token text NOT NULL DEFAULT '',
  attempts   integer NOT NULL DEFAULT 0,
  code       text NOT NULL,                 -- gRPC code name of the last try, e.g. "UNAVAILABLE"
  message    text NOT NULL DEFAULT '',
  at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX crawl_errors_crawl_idx ON ops.crawl_errors (crawl_id, at);

-- New and edited reviews waiting to be announced on the Redis stream `marketlens:reviews`. Rows are
-- written in the same transaction as the review itself, so an announcement is never lost when Redis or
-- the collector is down; the publisher deletes a row once Redis has accepted its entry (at-least-once:
-- a crash between the two announces it again, and consumers treat (review_id, version) as idempotent).
CREATE TABLE ops.review_outbox (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  review_id  text NOT NULL,
  product_id text NOT NULL,
  version    integer NOT NULL,
  event      text NOT NULL CHECK (event IN ('created', 'edited')),
  crawl_id   uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The source's updated_at of the observed product (seen_at is when the collector saw it): history on the
-- marketplace's own timeline, which may be a simulated clock.
ALTER TABLE raw.product_snapshots ADD COLUMN updated_at timestamptz;
