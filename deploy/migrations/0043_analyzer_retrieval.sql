-- Analyzer (services/analyzer): the retrieval index (services/analyzer/rag/corpus_sync.h) follows new and
-- edited reviews through their analyses, and new customer-service contacts, by keyset on (time, id).
CREATE INDEX review_analysis_analyzed_at_idx ON insights.review_analysis (analyzed_at, review_id);
CREATE INDEX contacts_first_seen_idx ON raw.contacts (first_seen_at, id);
