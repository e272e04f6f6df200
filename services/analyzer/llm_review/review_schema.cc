#include "services/analyzer/llm_review/review_schema.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace marketlens::analyzer::llm_review {
namespace {

using google::protobuf::Struct;
using llm::IssueCategories;
using llm::NumberField;
using llm::ObjectArrayField;
using llm::StringField;

// A quote is the review's own when it occurs in the title or text (trailing punctuation and a "..." cut
// aside). Empty quotes are not accepted: every finding must show where it comes from.
bool QuoteIn(const std::string& quote, absl::string_view title, absl::string_view text) {
  absl::string_view q = absl::StripAsciiWhitespace(quote);
  if (absl::EndsWith(q, "...")) q.remove_suffix(3);
  while (!q.empty() && (q.back() == '.' || q.back() == '!' || q.back() == '?')) q.remove_suffix(1);
  if (q.empty()) return false;
  return absl::StrContains(text, q) || absl::StrContains(title, q);
}

}  // namespace

const std::vector<std::string>& QualityConcernKinds() {
  static const auto* v = new std::vector<std::string>{"defects", "durability",   "materials",   "performance",
                                                      "safety",  "authenticity", "consistency", "other"};
  return *v;
}

const llm::Schema& ReviewItemSchema() {
  static const auto* s = new llm::Schema{
      "ReviewInsight",
      {StringField("id", 200), NumberField("sentiment", -1, 1),
       StringField("label", 10, {"negative", "neutral", "positive"}),
       ObjectArrayField("issues", 12,
                        {StringField("category", 40, IssueCategories()), StringField("sentence", 2000)}),
       ObjectArrayField(
           "feature_feedback", 24,
           {StringField("feature", 60), NumberField("polarity", -1, 1), StringField("quote", 2000)}),
       ObjectArrayField("quality_concerns", 12,
                        {StringField("concern", 20, QualityConcernKinds()), StringField("detail", 300),
                         StringField("quote", 2000)})}};
  return *s;
}

const llm::Schema& ReviewBatchSchema() {
  static const auto* s =
      new llm::Schema{"ReviewBatchOutput", {ObjectArrayField("reviews", 64, {StringField("id", 200)})}};
  return *s;
}

const std::string& ReviewBatchJsonSchema() {
  static const auto* s =
      new std::string(llm::ToJsonSchema({ObjectArrayField("reviews", 64, ReviewItemSchema().fields)}));
  return *s;
}

ReviewInsight InsightFromAnswer(const Struct& item) {
  ReviewInsight r;
  r.sentiment = llm::GetNumber(item, "sentiment");
  r.label = llm::GetString(item, "label");
  for (const Struct& i : llm::GetObjects(item, "issues")) {
    r.issues.push_back({llm::GetString(i, "category"), llm::GetString(i, "sentence")});
  }
  for (const Struct& f : llm::GetObjects(item, "feature_feedback")) {
    r.features.push_back(
        {llm::GetString(f, "feature"), llm::GetNumber(f, "polarity"), llm::GetString(f, "quote")});
  }
  for (const Struct& c : llm::GetObjects(item, "quality_concerns")) {
    r.concerns.push_back(
        {llm::GetString(c, "concern"), llm::GetString(c, "detail"), llm::GetString(c, "quote")});
  }
  return r;
}

ReviewInsight InsightFromLocal(const Analysis& local) {
  ReviewInsight r;
  r.sentiment = std::clamp(local.sentiment, -1.0, 1.0);
  r.label = local.label;
  r.issues = local.issues;
  for (const AspectMention& a : local.aspects) r.features.push_back({a.aspect, a.polarity, a.quote});
  // The issue categories that are about the product itself (not delivery, service or price).
  static const auto* kinds =
      new std::vector<std::pair<std::string, std::string>>{{"defective", "defects"},
                                                           {"durability", "durability"},
                                                           {"smell", "materials"},
                                                           {"safety", "safety"},
                                                           {"not_as_described", "authenticity"}};
  for (const IssueFlag& i : local.issues) {
    for (const auto& [category, concern] : *kinds) {
      if (i.category == category) r.concerns.push_back({concern, category, i.sentence});
    }
  }
  return r;
}

bool Grounded(const ReviewInsight& insight, absl::string_view title, absl::string_view text) {
  for (const IssueFlag& i : insight.issues) {
    if (!QuoteIn(i.sentence, title, text)) return false;
  }
  for (const FeatureFeedback& f : insight.features) {
    if (!QuoteIn(f.quote, title, text)) return false;
  }
  for (const QualityConcern& c : insight.concerns) {
    if (!QuoteIn(c.quote, title, text)) return false;
  }
  return true;
}

namespace {

using OrderedJson = nlohmann::ordered_json;

// jsonb documents: invalid UTF-8 is replaced, never an exception.
std::string Dump(const OrderedJson& j) {
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

// Polarities keep the six significant digits they were stored with.
double SixDigits(double v) {
  double out = 0;
  return absl::SimpleAtod(absl::StrCat(v), &out) ? out : v;
}

}  // namespace

std::string FeaturesJson(const std::vector<FeatureFeedback>& features) {
  OrderedJson out = OrderedJson::array();
  for (const FeatureFeedback& f : features) {
    out.push_back({{"feature", f.feature}, {"polarity", SixDigits(f.polarity)}, {"quote", f.quote}});
  }
  return Dump(out);
}

std::string ConcernsJson(const std::vector<QualityConcern>& concerns) {
  OrderedJson out = OrderedJson::array();
  for (const QualityConcern& c : concerns) {
    out.push_back({{"concern", c.concern}, {"detail", c.detail}, {"quote", c.quote}});
  }
  return Dump(out);
}

}  // namespace marketlens::analyzer::llm_review
