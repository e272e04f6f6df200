-- Collector ingest: customers as a business keeps them (occupation, type), and the products
-- discussed with customers per month ("Products of discussion" of a workbook).

ALTER TABLE ingest.files DROP CONSTRAINT files_kind_check;
ALTER TABLE ingest.files ADD CONSTRAINT files_kind_check
  CHECK (kind IN ('campaign_posts', 'contacts', 'interactions', 'customers', 'discussed_products'));
-- The sheet of a workbook a file's rows came from ('' for a CSV file), and what its values showed
-- (day/month order, channels outside the known set), one note per line.
ALTER TABLE ingest.files ADD COLUMN sheet text NOT NULL DEFAULT '';
ALTER TABLE ingest.files ADD COLUMN notes text NOT NULL DEFAULT '';

-- Ingested customers merge into the marketplace's (same id): the file that last changed a row.
ALTER TABLE raw.customers ADD COLUMN ingest_file_id uuid;

CREATE TABLE raw.discussed_products (
  id             text PRIMARY KEY,              -- derived from (month, product, product_id) when not given
  month          date NOT NULL CHECK (extract(day FROM month) = 1),
  product        text NOT NULL,                  -- as the business names it
  product_id     text NOT NULL DEFAULT '',       -- raw.products.id when the sheet gives one
  ingest_file_id uuid,
  first_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX discussed_products_month_idx ON raw.discussed_products (month);
