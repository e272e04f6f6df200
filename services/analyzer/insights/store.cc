#include "services/analyzer/insights/store.h"

#include <algorithm>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/logging/log.h"
#include "common/status/macros.h"
#include "nlohmann/json.hpp"

namespace marketlens::analyzer {
namespace {

using postgres::Tx;

constexpr char kSep[] = "\x1f";  // unit separator: cannot occur in stored text (the tokenizer drops controls)

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}
// NULL for an unset time (InfinitePast).
std::optional<std::string> OptionalTimeText(absl::Time t) {
  return t == absl::InfinitePast() ? std::nullopt : std::optional<std::string>(TimeText(t));
}
std::string FormatDay(absl::CivilDay d) { return absl::FormatCivilTime(d); }
std::string Num(double v) { return absl::StrCat(v); }
// The jsonb documents keep numbers as the Postgres arrays above do: six significant digits.
double SixDigits(double v) {
  double out = 0;
  return absl::SimpleAtod(Num(v), &out) ? out : v;
}

using OrderedJson = nlohmann::ordered_json;
// jsonb documents: invalid UTF-8 is replaced, never an exception.
std::string Dump(const OrderedJson& j) {
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

std::vector<std::string> SplitSep(const std::string& s) {
  if (s.empty()) return {};
  return absl::StrSplit(s, kSep);
}

ReviewRow RowToReview(const pqxx::row& row) {
  ReviewRow r;
  r.id = row[0].as<std::string>();
  r.product_id = row[1].as<std::string>();
  r.category = row[2].as<std::string>();
  r.title = row[3].as<std::string>();
  r.text = row[4].as<std::string>();
  r.rating = row[5].as<int>();
  r.version = row[6].as<int>();
  r.created_at = absl::FromUnixMicros(row[7].as<int64_t>());
  return r;
}

constexpr char kReviewColumns[] =
    "r.id, r.product_id, COALESCE(p.category, ''), r.title, r.text, r.rating, r.version, "
    "(extract(epoch FROM r.created_at) * 1000000)::bigint";

}  // namespace

std::string AspectsJson(const std::vector<AspectMention>& aspects) {
  OrderedJson out = OrderedJson::array();
  for (const AspectMention& a : aspects) {
    OrderedJson& o = out.emplace_back(
        OrderedJson{{"aspect", a.aspect}, {"polarity", SixDigits(a.polarity)}, {"quote", a.quote}});
    if (a.discovered) o["discovered"] = true;
  }
  return Dump(out);
}

std::string IssuesJson(const std::vector<IssueFlag>& issues) {
  OrderedJson out = OrderedJson::array();
  for (const IssueFlag& i : issues) out.push_back({{"category", i.category}, {"sentence", i.sentence}});
  return Dump(out);
}

std::string QualityJson(const std::vector<QualityFlag>& flags) {
  OrderedJson out = OrderedJson::array();
  for (const QualityFlag& f : flags) out.push_back({{"flag", f.flag}, {"sentence", f.sentence}});
  return Dump(out);
}

std::string PgTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    out.push_back('"');
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

absl::StatusOr<std::vector<ReviewRow>> InsightsStore::PendingReviews(const std::string& engine_version,
                                                                     const std::string& after_id, int limit) {
  auto r =
      pool_->Exec(absl::StrCat("SELECT ", kReviewColumns,
                               " FROM raw.reviews r"
                               " LEFT JOIN raw.products p ON p.id = r.product_id"
                               " LEFT JOIN insights.review_analysis a ON a.review_id = r.id"
                               " WHERE r.id > $1 AND (a.review_id IS NULL OR a.review_version < r.version"
                               "   OR a.model_version <> $2)"
                               " ORDER BY r.id LIMIT $3"),
                  after_id, engine_version, limit);
  if (!r.ok()) return r.status();
  std::vector<ReviewRow> out;
  out.reserve(r->size());
  for (const auto& row : *r) out.push_back(RowToReview(row));
  return out;
}

absl::StatusOr<std::vector<ReviewRow>> InsightsStore::LoadReviews(const std::vector<std::string>& ids) {
  if (ids.empty()) return std::vector<ReviewRow>{};
  ASSIGN_OR_RETURN(
      auto r, pool_->Exec(absl::StrCat("SELECT ", kReviewColumns,
                                       " FROM raw.reviews r LEFT JOIN raw.products p ON p.id = r.product_id"
                                       " WHERE r.id = ANY($1::text[]) ORDER BY r.id"),
                          PgTextArray(ids)));
  std::vector<ReviewRow> out;
  for (const auto& row : r) out.push_back(RowToReview(row));
  return out;
}

absl::StatusOr<std::vector<std::string>> InsightsStore::SaveAnalyses(
    const std::vector<std::pair<ReviewRow, Analysis>>& rows, const std::string& engine_version) {
  std::vector<std::string> ids, products, versions, sentiments, labels, aspects, issues, flags, quality;
  std::set<std::string> touched;
  for (const auto& [review, a] : rows) {
    ids.push_back(review.id);
    products.push_back(review.product_id);
    versions.push_back(absl::StrCat(review.version));
    sentiments.push_back(Num(a.sentiment));
    labels.push_back(a.label);
    aspects.push_back(AspectsJson(a.aspects));
    issues.push_back(IssuesJson(a.issues));
    std::vector<std::string> names;
    for (const QualityFlag& f : a.quality_flags) names.push_back(f.flag);
    flags.push_back(absl::StrJoin(names, ","));
    quality.push_back(QualityJson(a.quality_flags));
    touched.insert(review.product_id);
  }
  if (ids.empty()) return std::vector<std::string>{};
  RETURN_IF_ERROR(pool_->Exec(
      "INSERT INTO insights.review_analysis (review_id, product_id, review_version, sentiment, label, "
      "aspects,"
      " issues, quality_flags, quality, backend, model_version, analyzed_at)"
      " SELECT id, pid, ver, s, l, asp::jsonb, iss::jsonb, string_to_array(q, ','), qs::jsonb, 'local', $9,"
      " now()"
      " FROM unnest($1::text[], $2::text[], $3::int[], $4::float8[], $5::text[], $6::text[], $7::text[], "
      "$8::text[], $10::text[])"
      "   AS u(id, pid, ver, s, l, asp, iss, q, qs)"
      " ON CONFLICT (review_id) DO UPDATE SET product_id = EXCLUDED.product_id,"
      "   review_version = EXCLUDED.review_version, sentiment = EXCLUDED.sentiment, label = EXCLUDED.label,"
      "   aspects = EXCLUDED.aspects, issues = EXCLUDED.issues, quality_flags = EXCLUDED.quality_flags,"
      "   quality = EXCLUDED.quality, backend = EXCLUDED.backend, model_version = EXCLUDED.model_version, "
      "analyzed_at = "
      "EXCLUDED.analyzed_at"
      " WHERE insights.review_analysis.review_version <= EXCLUDED.review_version",
      PgTextArray(ids), PgTextArray(products), PgTextArray(versions), PgTextArray(sentiments),
      PgTextArray(labels), PgTextArray(aspects), PgTextArray(issues), PgTextArray(flags), engine_version,
      PgTextArray(quality)));
  return std::vector<std::string>(touched.begin(), touched.end());
}

absl::StatusOr<absl::Time> InsightsStore::DataNow() {
  ASSIGN_OR_RETURN(
      auto r, pool_->Exec("SELECT (extract(epoch FROM max(created_at)) * 1000000)::bigint FROM raw.reviews"));
  if (r.empty() || r[0][0].is_null()) return absl::InfinitePast();
  return absl::FromUnixMicros(r[0][0].as<int64_t>());
}

namespace {

// A product's analysed reviews as the change tests read them ($1: the product id).
constexpr char kProductFactsSql[] =
    "SELECT (extract(epoch FROM r.created_at) * 1000000)::bigint, r.rating, a.sentiment,"
    " COALESCE((SELECT string_agg(e->>'category', E'\\x1f' ORDER BY o) FROM "
    "jsonb_array_elements(a.issues)"
    "   WITH ORDINALITY AS x(e, o)), ''),"
    " COALESCE((SELECT string_agg(e->>'sentence', E'\\x1f' ORDER BY o) FROM "
    "jsonb_array_elements(a.issues)"
    "   WITH ORDINALITY AS x(e, o)), ''),"
    " COALESCE((SELECT string_agg(e->>'aspect', E'\\x1f' ORDER BY o) FROM "
    "jsonb_array_elements(a.aspects)"
    "   WITH ORDINALITY AS x(e, o)), ''),"
    " COALESCE((SELECT string_agg(e->>'polarity', E'\\x1f' ORDER BY o) FROM "
    "jsonb_array_elements(a.aspects)"
    "   WITH ORDINALITY AS x(e, o)), ''), r.id"
    " FROM raw.reviews r JOIN insights.review_analysis a ON a.review_id = r.id WHERE "
    "r.product_id = $1";

std::vector<ReviewFact> FactsFromRows(const pqxx::result& rows) {
  std::vector<ReviewFact> facts;
  facts.reserve(rows.size());
  for (const auto& row : rows) {
    ReviewFact f;
    f.created_at = absl::FromUnixMicros(row[0].as<int64_t>());
    f.id = row[7].as<std::string>();
    f.rating = row[1].as<int>();
    f.sentiment = row[2].as<double>();
    f.issues = SplitSep(row[3].as<std::string>());
    f.issue_sentences = SplitSep(row[4].as<std::string>());
    f.aspects = SplitSep(row[5].as<std::string>());
    for (const std::string& p : SplitSep(row[6].as<std::string>())) {
      double v = 0;
      (void)absl::SimpleAtod(p, &v);
      f.aspect_polarities.push_back(v);
    }
    facts.push_back(std::move(f));
  }
  return facts;
}

}  // namespace

absl::StatusOr<std::vector<ReviewFact>> InsightsStore::ProductFacts(const std::string& product_id) {
  ASSIGN_OR_RETURN(auto rows, pool_->Exec(kProductFactsSql, product_id));
  return FactsFromRows(rows);
}

absl::StatusOr<std::vector<std::vector<int>>> InsightsStore::StarLevelCounts(absl::Time now) {
  ASSIGN_OR_RETURN(
      auto rows,
      pool_->Exec("SELECT count(*) FILTER (WHERE r.rating <= 1), count(*) FILTER (WHERE r.rating = 2),"
                  " count(*) FILTER (WHERE r.rating = 3), count(*) FILTER (WHERE r.rating = 4),"
                  " count(*) FILTER (WHERE r.rating >= 5)"
                  " FROM raw.reviews r JOIN insights.review_analysis a ON a.review_id = r.id"
                  " WHERE (extract(epoch FROM r.created_at) * 1000000)::bigint <= $1"
                  " GROUP BY r.product_id ORDER BY r.product_id",
                  absl::ToUnixMicros(now)));
  std::vector<std::vector<int>> counts;
  counts.reserve(rows.size());
  for (const auto& row : rows) {
    std::vector<int> c(5);
    for (int j = 0; j < 5; ++j) c[j] = static_cast<int>(row[j].as<int64_t>());
    counts.push_back(std::move(c));
  }
  return counts;
}

absl::StatusOr<std::shared_ptr<StarLevelsEmpiricalBayes>> InsightsStore::FitStarLevelsPrior(
    absl::Time now, StarsStatistic statistic) {
  ASSIGN_OR_RETURN(auto counts, StarLevelCounts(now));
  return StarLevelsModelFromCounts(counts, statistic);
}

absl::StatusOr<RecomputeResult> InsightsStore::RecomputeProduct(const std::string& product_id, absl::Time now,
                                                                const AggregateOptions& aggregate_options,
                                                                const AlertOptions& /*alerts*/,
                                                                const ChangeOptions& changes) {
  ChangeOptions change_options = changes;
  if (change_options.eb_stars && change_options.eb_stars_model == nullptr) {
    ASSIGN_OR_RETURN(change_options.eb_stars_model,
                     FitStarLevelsPrior(now, change_options.eb_stars_statistic));
  }
  RecomputeResult result;
  absl::Status status = pool_->Transact([&](Tx& tx) -> absl::Status {
    result = RecomputeResult();
    // One recompute of a product at a time (two instances may both be told about it).
    RETURN_IF_ERROR(tx.Exec("SELECT pg_advisory_xact_lock(hashtext('analyzer:' || $1))", product_id));
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kProductFactsSql, product_id));
    const std::vector<ReviewFact> facts = FactsFromRows(rows);
    result.reviews = static_cast<int>(facts.size());
    const ProductAggregate agg = Aggregate(facts, now, aggregate_options);
    const std::vector<ChangeFinding> tests = TestProductChanges(product_id, facts, now, change_options);

    // Weekly history.
    std::vector<std::string> weeks, ratings, sentiments, counts, iw_weeks, iw_categories, iw_counts;
    for (const WeeklyAggregate& w : agg.weekly) {
      weeks.push_back(FormatDay(w.week_start));
      ratings.push_back(Num(w.average_rating));
      sentiments.push_back(Num(w.sentiment));
      counts.push_back(absl::StrCat(w.reviews));
      for (const auto& [category, n] : w.issue_counts) {
        iw_weeks.push_back(FormatDay(w.week_start));
        iw_categories.push_back(category);
        iw_counts.push_back(absl::StrCat(n));
      }
    }
    for (const char* sql : {"DELETE FROM insights.product_weekly WHERE product_id = $1",
                            "DELETE FROM insights.issue_weekly WHERE product_id = $1",
                            "DELETE FROM insights.issues WHERE product_id = $1"}) {
      RETURN_IF_ERROR(tx.Exec(sql, product_id));
    }
    if (!weeks.empty()) {
      RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO insights.product_weekly (product_id, week_start, average_rating, sentiment, reviews)"
          " SELECT $1, w, r, s, n FROM unnest($2::date[], $3::float8[], $4::float8[], $5::int[]) AS u(w, r, "
          "s, n)",
          product_id, PgTextArray(weeks), PgTextArray(ratings), PgTextArray(sentiments),
          PgTextArray(counts)));
    }
    if (!iw_weeks.empty()) {
      RETURN_IF_ERROR(
          tx.Exec("INSERT INTO insights.issue_weekly (product_id, week_start, category, count)"
                  " SELECT $1, w, c, n FROM unnest($2::date[], $3::text[], $4::int[]) AS u(w, c, n)",
                  product_id, PgTextArray(iw_weeks), PgTextArray(iw_categories), PgTextArray(iw_counts)));
    }
    OrderedJson issues = OrderedJson::array();
    for (const IssueAggregate& ia : agg.issues) {
      RETURN_IF_ERROR(
          tx.Exec("INSERT INTO insights.issues (product_id, category, count, share, quotes, updated_at)"
                  " VALUES ($1, $2, $3, $4, $5::text[], now())",
                  product_id, ia.category, ia.count, ia.share, PgTextArray(ia.quotes)));
      issues.push_back({{"category", ia.category}, {"count", ia.count}, {"share", SixDigits(ia.share)}});
    }
    const std::string issues_json = Dump(issues);
    OrderedJson features = OrderedJson::array();
    for (const FeatureAggregate& f : agg.features) {
      features.push_back(
          {{"aspect", f.aspect}, {"mentions", f.mentions}, {"polarity", SixDigits(f.polarity)}});
    }
    const std::string features_json = Dump(features);

    // Change tests (alerts are reconciled from them below, after this transaction).
    RETURN_IF_ERROR(tx.Exec("DELETE FROM insights.change_tests WHERE product_id = $1", product_id));
    for (const ChangeFinding& t : tests) {
      RETURN_IF_ERROR(tx.Exec(
          "INSERT INTO insights.change_tests (product_id, metric, kind, p_value, min_p_value, meets_effect,"
          " open, since, recovered_at, before, after, before_reviews, after_reviews, evidence, message,"
          " changed_after, since_earliest, since_latest)"
          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9::timestamptz, $10, $11, $12, $13,"
          " $14::text[], $15, $16::timestamptz, $17::timestamptz, $18::timestamptz)",
          product_id, t.metric, t.kind, std::clamp(t.p_value, 0.0, 1.0), std::clamp(t.min_p_value, 0.0, 1.0),
          t.meets_effect, t.open, TimeText(t.since),
          t.open ? std::nullopt : std::optional<std::string>(TimeText(t.recovered_at)), t.before, t.after,
          t.before_reviews, t.after_reviews, PgTextArray(t.evidence), t.message,
          OptionalTimeText(t.changed_after), OptionalTimeText(t.since_earliest),
          OptionalTimeText(t.since_latest)));
    }
    ASSIGN_OR_RETURN(
        auto open_alerts,
        tx.Exec("SELECT count(*) FROM insights.alerts WHERE product_id = $1 AND state <> 'resolved'",
                product_id));

    const double sentiment = agg.sentiment;
    const std::string label = LabelFor(sentiment, 0.2);
    RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO insights.product_summary (product_id, title, brand, category, price_cents, "
        "average_rating,"
        " review_count, sentiment, sentiment_label, reviews_per_week, velocity_trend, features, updated_at,"
        " sentiment_trend, open_alerts, last_review_at, issues)"
        " SELECT $1, COALESCE(p.title, ''), COALESCE(p.brand, ''), COALESCE(p.category, ''),"
        "   COALESCE(p.price_cents, 0), $2, $3, $4, $5, $6, $7, $8::jsonb, now(), $9, $10, $11::timestamptz, "
        "$12::jsonb"
        " FROM (SELECT 1) AS one LEFT JOIN raw.products p ON p.id = $1"
        " ON CONFLICT (product_id) DO UPDATE SET title = EXCLUDED.title, brand = EXCLUDED.brand,"
        "   category = EXCLUDED.category, price_cents = EXCLUDED.price_cents,"
        "   average_rating = EXCLUDED.average_rating, review_count = EXCLUDED.review_count,"
        "   sentiment = EXCLUDED.sentiment, sentiment_label = EXCLUDED.sentiment_label,"
        "   reviews_per_week = EXCLUDED.reviews_per_week, velocity_trend = EXCLUDED.velocity_trend,"
        "   features = EXCLUDED.features, updated_at = EXCLUDED.updated_at,"
        "   sentiment_trend = EXCLUDED.sentiment_trend, open_alerts = EXCLUDED.open_alerts,"
        "   last_review_at = EXCLUDED.last_review_at, issues = EXCLUDED.issues",
        product_id, std::clamp(agg.average_rating, 0.0, 5.0), agg.review_count,
        std::clamp(sentiment, -1.0, 1.0), label, agg.reviews_per_week, agg.velocity_trend, features_json,
        agg.sentiment_trend, open_alerts[0][0].as<int>(),
        agg.review_count > 0 ? std::optional<std::string>(TimeText(agg.last_review_at)) : std::nullopt,
        issues_json));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  ASSIGN_OR_RETURN(auto reconciled, ReconcileAlerts(product_id, change_options));
  result.alerts_open = reconciled.alerts_open;
  result.alerts_raised = reconciled.alerts_raised;
  result.alerts_resolved = reconciled.alerts_resolved;
  return result;
}

absl::StatusOr<RecomputeResult> InsightsStore::ReconcileAlerts(const std::string& product_id,
                                                               const ChangeOptions& options) {
  RecomputeResult result;
  absl::Status status = pool_->Transact([&](Tx& tx) -> absl::Status {
    result = RecomputeResult();
    // One reconciliation at a time (the threshold is catalogue-wide).
    RETURN_IF_ERROR(tx.Exec("SELECT pg_advisory_xact_lock(hashtext('analyzer:alerts'))"));
    if (product_id.empty()) {  // catalogue products without reviews are listed too (review_count 0)
      RETURN_IF_ERROR(
          tx.Exec("INSERT INTO insights.product_summary (product_id, title, brand, category, price_cents)"
                  " SELECT p.id, COALESCE(p.title, ''), COALESCE(p.brand, ''), COALESCE(p.category, ''),"
                  "   COALESCE(p.price_cents, 0) FROM raw.products p"
                  " WHERE NOT EXISTS (SELECT 1 FROM insights.product_summary s WHERE s.product_id = p.id)"
                  " ON CONFLICT (product_id) DO NOTHING"));
    }
    ASSIGN_OR_RETURN(auto ps, tx.Exec("SELECT product_id, p_value, min_p_value FROM insights.change_tests"));
    std::vector<ChangeFinding> tests(ps.size());
    for (size_t i = 0; i < tests.size(); ++i) {
      tests[i].product_id = ps[i][0].as<std::string>();
      tests[i].p_value = ps[i][1].as<double>();
      tests[i].min_p_value = ps[i][2].as<double>();
    }
    const double threshold = AlertThreshold(tests, options);
    // Raise or refresh: open changes that pass. A resolved alert for the same change (within 30 days) that
    // resolved by itself is reopened; one a user resolved stays resolved.
    RETURN_IF_ERROR(
        tx.Exec("UPDATE insights.alerts a SET state = 'open', resolved_at = NULL, resolved_by = NULL"
                " FROM insights.change_tests t"
                " WHERE t.product_id = a.product_id AND t.metric = a.metric AND t.kind = a.kind"
                "   AND ($1 = '' OR t.product_id = $1) AND t.open AND t.meets_effect AND t.p_value <= $2"
                "   AND a.state = 'resolved' AND a.resolved_by = 'recovered'"
                "   AND abs(extract(epoch FROM a.since - t.since)) <= 30 * 86400"
                "   AND NOT EXISTS (SELECT 1 FROM insights.alerts b WHERE b.product_id = a.product_id"
                "     AND b.kind = a.kind AND b.metric = a.metric AND b.resolved_at IS NULL)",
                product_id, threshold));
    ASSIGN_OR_RETURN(
        auto raised,
        tx.Exec(
            "INSERT INTO insights.alerts (product_id, kind, metric, before, after, p_value, message,"
            " recent_reviews, baseline_reviews, since, evidence, state, changed_after, since_earliest,"
            " since_latest)"
            " SELECT t.product_id, t.kind, t.metric, t.before, t.after, t.p_value, t.message, "
            "t.after_reviews,"
            "   t.before_reviews, t.since, t.evidence, 'open', t.changed_after, t.since_earliest,"
            "   t.since_latest FROM insights.change_tests t"
            " WHERE ($1 = '' OR t.product_id = $1) AND t.open AND t.meets_effect AND t.p_value <= $2"
            "   AND NOT EXISTS (SELECT 1 FROM insights.alerts u WHERE u.product_id = t.product_id"
            "     AND u.kind = t.kind AND u.metric = t.metric AND u.state = 'resolved' AND u.resolved_by = "
            "'user'"
            "     AND abs(extract(epoch FROM u.since - t.since)) <= 30 * 86400)"
            " ON CONFLICT (product_id, kind, metric) WHERE resolved_at IS NULL DO UPDATE SET"
            "   before = EXCLUDED.before, after = EXCLUDED.after, p_value = EXCLUDED.p_value,"
            "   message = EXCLUDED.message, recent_reviews = EXCLUDED.recent_reviews,"
            "   baseline_reviews = EXCLUDED.baseline_reviews, since = EXCLUDED.since, evidence = "
            "EXCLUDED.evidence, changed_after = EXCLUDED.changed_after,"
            "   since_earliest = EXCLUDED.since_earliest, since_latest = EXCLUDED.since_latest"
            " RETURNING (xmax = 0), product_id, kind, metric",
            product_id, threshold));
    for (const auto& row : raised) {
      if (!row[0].as<bool>()) continue;
      ++result.alerts_raised;
      logging::Info("alert raised", {{"product_id", row[1].as<std::string>()},
                                     {"kind", row[2].as<std::string>()},
                                     {"metric", row[3].as<std::string>()}});
    }
    // Resolve: unresolved alerts whose metric recovered (no open change meeting its effect any more).
    ASSIGN_OR_RETURN(
        auto resolved,
        tx.Exec(
            "UPDATE insights.alerts a SET state = 'resolved', resolved_at = now(), resolved_by = 'recovered'"
            " WHERE a.resolved_at IS NULL AND ($1 = '' OR a.product_id = $1)"
            "   AND NOT EXISTS (SELECT 1 FROM insights.change_tests t WHERE t.product_id = a.product_id"
            "     AND t.metric = a.metric AND t.kind = a.kind AND t.open AND t.meets_effect)",
            product_id));
    result.alerts_resolved = static_cast<int>(resolved.affected_rows());
    // History: a change that passes but had already reverted when it was found (a replayed or first-analysed
    // history, or one that came and went between two analyses) is kept as a resolved alert of its product,
    // resolved at its recovery, unless an alert for the same change (within 30 days) exists.
    ASSIGN_OR_RETURN(
        auto history,
        tx.Exec("INSERT INTO insights.alerts (product_id, kind, metric, before, after, p_value, message,"
                " recent_reviews, baseline_reviews, since, evidence, state, resolved_at, resolved_by, "
                "changed_after, since_earliest, since_latest)"
                " SELECT t.product_id, t.kind, t.metric, t.before, t.after, t.p_value, t.message, "
                "t.after_reviews,"
                "   t.before_reviews, t.since, t.evidence, 'resolved', t.recovered_at, 'recovered', "
                "t.changed_after, t.since_earliest, t.since_latest"
                " FROM insights.change_tests t"
                " WHERE ($1 = '' OR t.product_id = $1) AND NOT t.open AND t.recovered_at IS NOT NULL"
                "   AND t.meets_effect AND t.p_value <= $2 AND $2 > 0"
                "   AND NOT EXISTS (SELECT 1 FROM insights.alerts u WHERE u.product_id = t.product_id"
                "     AND u.kind = t.kind AND u.metric = t.metric"
                "     AND abs(extract(epoch FROM u.since - t.since)) <= 30 * 86400)",
                product_id, threshold));
    result.alerts_history = static_cast<int>(history.affected_rows());
    ASSIGN_OR_RETURN(
        auto counted,
        tx.Exec("UPDATE insights.product_summary s SET open_alerts = (SELECT count(*) FROM insights.alerts a"
                "   WHERE a.product_id = s.product_id AND a.resolved_at IS NULL)"
                " WHERE ($1 = '' OR s.product_id = $1) RETURNING open_alerts",
                product_id));
    for (const auto& row : counted) result.alerts_open += row[0].as<int>();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::vector<InsightsStore::TrainingRow>> InsightsStore::TrainingData(int limit) {
  ASSIGN_OR_RETURN(
      auto r,
      pool_->Exec(
          "SELECT COALESCE(p.category, ''), r.title, r.text, r.rating FROM raw.reviews r"
          " LEFT JOIN raw.products p ON p.id = r.product_id ORDER BY r.created_at DESC, r.id LIMIT $1",
          limit));
  std::vector<TrainingRow> out;
  out.reserve(r.size());
  for (const auto& row : r) {
    TrainingRow t;
    t.category = row[0].as<std::string>();
    const std::string title = row[1].as<std::string>();
    t.rated.text =
        title.empty() ? row[2].as<std::string>() : absl::StrCat(title, ".\n", row[2].as<std::string>());
    t.rated.rating = row[3].as<int>();
    out.push_back(std::move(t));
  }
  return out;
}

absl::StatusOr<int64_t> InsightsStore::CountReviews() {
  ASSIGN_OR_RETURN(auto r, pool_->Exec("SELECT count(*) FROM raw.reviews"));
  return r[0][0].as<int64_t>();
}

absl::Status InsightsStore::SaveModel(const TextModel& model, bool activate) {
  std::vector<std::string> pos, neg;
  for (const auto& [w, v] : model.top_positive()) pos.push_back(w);
  for (const auto& [w, v] : model.top_negative()) neg.push_back(w);
  const std::string weights = absl::Base64Escape(model.Serialize());
  return pool_->Transact([&](Tx& tx) -> absl::Status {
    if (activate) {
      RETURN_IF_ERROR(tx.Exec("UPDATE insights.models SET active = false WHERE active AND version <> $1",
                              model.info().version));
    }
    auto r = tx.Exec(
        "INSERT INTO insights.models (version, kind, examples, holdout_accuracy, top_positive, top_negative, "
        "weights,"
        " active) VALUES ($1, 'tflr', $2, $3, $4::text[], $5::text[], $6, $7)"
        " ON CONFLICT (version) DO UPDATE SET active = EXCLUDED.active OR insights.models.active",
        model.info().version, model.info().examples,
        model.info().holdout_accuracy >= 0 ? std::optional<double>(model.info().holdout_accuracy)
                                           : std::nullopt,
        PgTextArray(pos), PgTextArray(neg), weights, activate);
    return r.status();
  });
}

absl::StatusOr<std::optional<TextModel>> InsightsStore::LoadActiveModel() {
  ASSIGN_OR_RETURN(auto r, pool_->Exec("SELECT weights FROM insights.models WHERE active"));
  if (r.empty()) return std::optional<TextModel>();
  std::string bytes;
  if (!absl::Base64Unescape(r[0][0].as<std::string>(), &bytes)) {
    return absl::DataLossError("insights.models: weights are not base64");
  }
  ASSIGN_OR_RETURN(auto m, TextModel::Deserialize(bytes));
  return std::optional<TextModel>(std::move(m));
}

absl::Status InsightsStore::SaveDiscoveredTerms(const std::vector<DiscoveredTerm>& terms) {
  std::vector<std::string> categories, words, docs;
  for (const auto& t : terms) {
    categories.push_back(t.category);
    words.push_back(t.term);
    docs.push_back(absl::StrCat(t.documents));
  }
  if (terms.empty()) return absl::OkStatus();
  auto r = pool_->Exec(
      "INSERT INTO insights.aspect_terms (category, term, documents)"
      " SELECT c, t, d FROM unnest($1::text[], $2::text[], $3::int[]) AS u(c, t, d)"
      " ON CONFLICT (category, term) DO UPDATE SET documents = EXCLUDED.documents",
      PgTextArray(categories), PgTextArray(words), PgTextArray(docs));
  return r.status();
}

absl::StatusOr<std::vector<DiscoveredTerm>> InsightsStore::LoadDiscoveredTerms() {
  ASSIGN_OR_RETURN(
      auto r,
      pool_->Exec("SELECT category, term, documents FROM insights.aspect_terms ORDER BY category, term"));
  std::vector<DiscoveredTerm> out;
  for (const auto& row : r)
    out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int>()});
  return out;
}

}  // namespace marketlens::analyzer
