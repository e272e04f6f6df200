#include "services/analyzer/llm_review/review_store.h"

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "services/analyzer/insights/store.h"

namespace marketlens::analyzer::llm_review {

absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ReviewInsightStore::StoredHashes(
    const std::vector<std::string>& ids, const std::string& prompt_id) {
  absl::flat_hash_map<std::string, std::string> out;
  if (ids.empty()) return out;
  ASSIGN_OR_RETURN(auto r, pool_->Exec("SELECT review_id, content_hash FROM insights.review_llm_analysis"
                                       " WHERE review_id = ANY($1::text[]) AND prompt_id = $2",
                                       PgTextArray(ids), prompt_id));
  for (const auto& row : r) out[row[0].as<std::string>()] = row[1].as<std::string>();
  return out;
}

absl::StatusOr<std::vector<ReviewRow>> ReviewInsightStore::Backlog(const std::string& prompt_id, int limit) {
  ASSIGN_OR_RETURN(
      auto r,
      pool_->Exec(
          "SELECT r.id, r.product_id, COALESCE(p.category, ''), r.title, r.text, r.rating, r.version,"
          " (extract(epoch FROM r.created_at) * 1000000)::bigint"
          " FROM insights.review_analysis a JOIN raw.reviews r ON r.id = a.review_id"
          " LEFT JOIN raw.products p ON p.id = r.product_id"
          " WHERE (r.rating <= 2 OR a.issues <> '[]'::jsonb OR 'rating_mismatch' = ANY(a.quality_flags))"
          "   AND NOT ('too_short' = ANY(a.quality_flags) OR 'empty' = ANY(a.quality_flags))"
          "   AND NOT EXISTS (SELECT 1 FROM insights.review_llm_analysis l"
          "                   WHERE l.review_id = r.id AND l.prompt_id = $1)"
          " ORDER BY (r.rating <= 2) DESC, r.created_at DESC, r.id LIMIT $2",
          prompt_id, limit));
  std::vector<ReviewRow> out;
  for (const auto& row : r) {
    ReviewRow v;
    v.id = row[0].as<std::string>();
    v.product_id = row[1].as<std::string>();
    v.category = row[2].as<std::string>();
    v.title = row[3].as<std::string>();
    v.text = row[4].as<std::string>();
    v.rating = row[5].as<int>();
    v.version = row[6].as<int>();
    v.created_at = absl::FromUnixMicros(row[7].as<int64_t>());
    out.push_back(std::move(v));
  }
  return out;
}

absl::Status ReviewInsightStore::Save(const std::vector<ReviewInsightRecord>& records) {
  if (records.empty()) return absl::OkStatus();
  std::vector<std::string> ids, products, versions, hashes, backends, models, prompts, reasons, cached,
      sentiments, labels, issues, features, concerns;
  for (const ReviewInsightRecord& r : records) {
    ids.push_back(r.review_id);
    products.push_back(r.product_id);
    versions.push_back(absl::StrCat(r.review_version));
    hashes.push_back(r.content_hash);
    backends.push_back(r.backend);
    models.push_back(r.model);
    prompts.push_back(r.prompt_id);
    reasons.push_back(r.fallback_reason);
    cached.push_back(r.cached ? "true" : "false");
    sentiments.push_back(absl::StrCat(r.insight.sentiment));
    labels.push_back(r.insight.label);
    issues.push_back(IssuesJson(r.insight.issues));
    features.push_back(FeaturesJson(r.insight.features));
    concerns.push_back(ConcernsJson(r.insight.concerns));
  }
  auto r = pool_->Exec(
      "INSERT INTO insights.review_llm_analysis (review_id, product_id, review_version, content_hash, "
      "backend,"
      " model, prompt_id, fallback_reason, cached, sentiment, label, issues, feature_feedback,"
      " quality_concerns, analyzed_at)"
      " SELECT id, pid, ver, h, b, m, p, fr, c, s, l, iss::jsonb, ff::jsonb, qc::jsonb, now()"
      " FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[],"
      "   $8::text[], $9::bool[], $10::float8[], $11::text[], $12::text[], $13::text[], $14::text[])"
      "   AS u(id, pid, ver, h, b, m, p, fr, c, s, l, iss, ff, qc)"
      " ON CONFLICT (review_id) DO UPDATE SET product_id = EXCLUDED.product_id,"
      "   review_version = EXCLUDED.review_version, content_hash = EXCLUDED.content_hash,"
      "   backend = EXCLUDED.backend, model = EXCLUDED.model, prompt_id = EXCLUDED.prompt_id,"
      "   fallback_reason = EXCLUDED.fallback_reason, cached = EXCLUDED.cached,"
      "   sentiment = EXCLUDED.sentiment, label = EXCLUDED.label, issues = EXCLUDED.issues,"
      "   feature_feedback = EXCLUDED.feature_feedback, quality_concerns = EXCLUDED.quality_concerns,"
      "   analyzed_at = EXCLUDED.analyzed_at"
      " WHERE insights.review_llm_analysis.review_version <= EXCLUDED.review_version",
      PgTextArray(ids), PgTextArray(products), PgTextArray(versions), PgTextArray(hashes),
      PgTextArray(backends), PgTextArray(models), PgTextArray(prompts), PgTextArray(reasons),
      PgTextArray(cached), PgTextArray(sentiments), PgTextArray(labels), PgTextArray(issues),
      PgTextArray(features), PgTextArray(concerns));
  return r.ok() ? absl::OkStatus() : r.status();
}

}  // namespace marketlens::analyzer::llm_review
