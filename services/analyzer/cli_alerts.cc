#include "services/analyzer/cli_alerts.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace marketlens::analyzer {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::string Field(const Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  if (it == s.fields().end()) return "";
  if (it->second.kind_case() == Value::kStringValue) return it->second.string_value();
  if (it->second.kind_case() == Value::kNumberValue) {
    return absl::StrFormat("%.17g", it->second.number_value());
  }
  return "";
}

std::string FirstOf(const Struct& s, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    std::string v = Field(s, n);
    if (!v.empty()) return v;
  }
  return "";
}

std::string Day(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

}  // namespace

int OfflineAlerts::open() const {
  int n = 0;
  for (const ChangeFinding& f : changes) n += f.open ? 1 : 0;
  return n;
}

absl::StatusOr<std::vector<FileReview>> ReadReviewsFile(const std::string& path, int* skipped,
                                                        int* duplicates) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<FileReview> out;
  // The reviews kept under each id as read (Amazon's files have none: reviewer/product). A second review
  // by the same reviewer that reads differently is kept, its id suffixed #2; an exact repeat (the same
  // product, time, title and text too) is one review counted twice by the file, as the marketplace's replay
  // of such a file counts it (it drops them too).
  absl::flat_hash_map<std::string, std::vector<size_t>> kept_by_id;
  std::string line;
  *skipped = 0;
  if (duplicates != nullptr) *duplicates = 0;
  while (std::getline(in, line)) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    Struct s;
    if (!google::protobuf::util::JsonStringToMessage(line, &s).ok()) {
      ++*skipped;
      continue;
    }
    FileReview r;
    r.product_id = FirstOf(s, {"product_id", "asin"});
    double rating = 0;
    (void)absl::SimpleAtod(FirstOf(s, {"rating", "overall"}), &rating);
    r.rating = static_cast<int>(rating + 0.5);
    double unix_seconds = 0;
    bool has_time = absl::SimpleAtod(Field(s, "unixReviewTime"), &unix_seconds);
    if (has_time) {
      r.created_at = absl::FromUnixSeconds(static_cast<int64_t>(unix_seconds));
    } else {
      std::string error;
      has_time = absl::ParseTime(absl::RFC3339_full, Field(s, "created_at"), &r.created_at, &error);
    }
    if (r.product_id.empty() || r.rating < 1 || r.rating > 5 || !has_time) {
      ++*skipped;
      continue;
    }
    r.title = FirstOf(s, {"title", "summary"});
    r.text = FirstOf(s, {"text", "reviewText"});
    r.id = FirstOf(s, {"id", "review_id"});
    if (r.id.empty()) r.id = absl::StrCat(Field(s, "reviewerID"), "/", r.product_id);
    std::vector<size_t>& same_id = kept_by_id[r.id];
    if (std::any_of(same_id.begin(), same_id.end(), [&](size_t i) {
          const FileReview& k = out[i];
          return k.product_id == r.product_id && k.created_at == r.created_at && k.title == r.title &&
                 k.text == r.text;
        })) {
      if (duplicates != nullptr) ++*duplicates;
      continue;
    }
    if (!same_id.empty()) absl::StrAppend(&r.id, "#", same_id.size() + 1);
    same_id.push_back(out.size());
    out.push_back(std::move(r));
  }
  return out;
}

AnalysedReviews AnalyseReviews(const std::vector<FileReview>& reviews, Engine& engine) {
  // The pipeline's training: the rated reviews' title and text (Retrain via InsightsStore::TrainingData).
  std::vector<RatedText> rated;
  rated.reserve(reviews.size());
  for (const FileReview& r : reviews) {
    rated.push_back({r.title.empty() ? r.text : absl::StrCat(r.title, ".\n", r.text), r.rating});
  }
  auto model = TextModel::Train(rated, TrainOptions(), engine.tokenizer_options());
  if (model.ok()) engine.SetModel(std::make_shared<TextModel>(*std::move(model)));

  AnalysedReviews out;
  for (const FileReview& r : reviews) {
    const Analysis a = engine.Analyze({.title = r.title, .text = r.text, .rating = r.rating});
    ReviewFact f;
    f.id = r.id;
    f.created_at = r.created_at;
    f.rating = r.rating;
    f.sentiment = a.sentiment;
    for (const IssueFlag& i : a.issues) {
      f.issues.push_back(i.category);
      f.issue_sentences.push_back(i.sentence);
    }
    for (const AspectMention& m : a.aspects) {
      f.aspects.push_back(m.aspect);
      f.aspect_polarities.push_back(m.polarity);
    }
    out.products[r.product_id].push_back(std::move(f));
    out.now = std::max(out.now, r.created_at);
  }
  return out;
}

OfflineAlerts AlertsForReviews(const std::vector<FileReview>& reviews, Engine& engine,
                               const ChangeOptions& options) {
  const AnalysedReviews analysed = AnalyseReviews(reviews, engine);
  OfflineAlerts result;
  result.reviews = static_cast<int>(reviews.size());
  result.products = static_cast<int>(analysed.products.size());
  result.now = analysed.now;
  result.changes = DetectChanges(analysed.products, analysed.now, options);
  return result;
}

std::string AlertJson(const ChangeFinding& f) {
  // Figures with the significant digits the line always had (before/after 4, p-value 3); whole numbers
  // print without a fraction, as %g printed them.
  auto digits = [](const std::string& printed, double v) -> nlohmann::ordered_json {
    double out = 0;
    if (!absl::SimpleAtod(printed, &out)) out = v;
    if (std::isfinite(out) && std::trunc(out) == out && std::fabs(out) < 1e15)
      return static_cast<int64_t>(out);
    return out;
  };
  nlohmann::ordered_json line = {{"product_id", f.product_id},
                                 {"kind", f.kind},
                                 {"metric", f.metric},
                                 {"since", Day(f.since)},
                                 {"changed_after", Day(f.changed_after)}};
  if (f.since_earliest != absl::InfinitePast()) {  // the date's credible range (open rating changes)
    line["since_earliest"] = Day(f.since_earliest);
    line["since_latest"] = Day(f.since_latest);
  }
  line["before"] = digits(absl::StrFormat("%.4g", f.before), f.before);
  line["after"] = digits(absl::StrFormat("%.4g", f.after), f.after);
  line["p_value"] = digits(absl::StrFormat("%.3g", f.p_value), f.p_value);
  line["after_reviews"] = f.after_reviews;
  line["before_reviews"] = f.before_reviews;
  line["evidence"] = f.evidence;
  line["message"] = f.message;
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

int RunAlertsCommand(const std::string& file, std::ostream& out, std::ostream& err) {
  int skipped = 0, duplicates = 0;
  auto reviews = ReadReviewsFile(file, &skipped, &duplicates);
  if (!reviews.ok()) {
    err << reviews.status().message() << "\n";
    return 1;
  }
  if (skipped > 0) err << "skipped " << skipped << " lines (not JSON, or no product, rating or time)\n";
  if (duplicates > 0) err << "dropped " << duplicates << " exact repeats of a review\n";
  auto engine = Engine::Create();
  if (!engine.ok()) {
    err << engine.status() << "\n";
    return 1;
  }
  const OfflineAlerts result = AlertsForReviews(*reviews, **engine);
  for (const ChangeFinding& f : result.changes) {
    if (f.open) out << AlertJson(f) << "\n";
  }
  out << absl::StrFormat("products=%d reviews=%d alerts=%d\n", result.products, result.reviews,
                         result.open());
  return 0;
}

}  // namespace marketlens::analyzer
