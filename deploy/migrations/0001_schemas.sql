-- One schema per stage of the data (docs/architecture.md, "Storage"):
--   raw       as collected from the marketplace and CSV files; history is appended, never overwritten
--   ingest    bookkeeping of ingested files and the rows they were refused
--   insights  what the analyzer derives from raw (per review, per product, alerts)
--   recsys    recommender feedback events, model registry, A/B experiments
--   ops       crawl runs and their resumable checkpoints
CREATE SCHEMA raw;
CREATE SCHEMA ingest;
CREATE SCHEMA insights;
CREATE SCHEMA recsys;
CREATE SCHEMA ops;

-- Rejects UPDATE and DELETE on append-only history tables.
CREATE FUNCTION raw.forbid_update_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table %.% is append-only: % is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END
$$;
