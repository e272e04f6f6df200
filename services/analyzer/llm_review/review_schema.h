// What the LLM review mode asks a model for, per review: sentiment, issues (the engine's issue categories,
// each with the sentence that shows it), feature feedback (a feature in the reviewer's words, polarity,
// quote) and product quality concerns (a fixed list of kinds, detail, quote). Reviews go in batches: the
// answer is {"reviews":[{"id": ..., ...}, ...]} and each item is validated on its own (ReviewItemSchema),
// so one bad item costs that review only, not its batch. Quotes must be the review's own sentences.
//
// When the model cannot answer a review (error, cut answer, schema miss, a quote it made up), the local
// engine's analysis stands in (FromLocal): issues as they are, aspects as feature feedback, and the issue
// categories that speak of the product's quality as quality concerns.
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_REVIEW_SCHEMA_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_REVIEW_SCHEMA_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/llm/json_schema.h"

namespace marketlens::analyzer::llm_review {

struct FeatureFeedback {
  std::string feature;
  double polarity = 0;
  std::string quote;
};

struct QualityConcern {
  std::string concern;  // one of QualityConcernKinds()
  std::string detail;
  std::string quote;
};

struct ReviewInsight {
  double sentiment = 0;
  std::string label = "neutral";
  std::vector<IssueFlag> issues;
  std::vector<FeatureFeedback> features;
  std::vector<QualityConcern> concerns;
};

const std::vector<std::string>& QualityConcernKinds();
// One review's answer (with its "id").
const llm::Schema& ReviewItemSchema();
// The batch's answer as StructuredLlm checks it: a "reviews" array whose items have an "id"; each item is
// then checked against ReviewItemSchema.
const llm::Schema& ReviewBatchSchema();
// The full batch schema as a JSON Schema document (response_format json_schema).
const std::string& ReviewBatchJsonSchema();

ReviewInsight InsightFromAnswer(const google::protobuf::Struct& item);
ReviewInsight InsightFromLocal(const Analysis& local);
// Whether every quote of `insight` is a sentence of the review (trailing punctuation and a "..." cut aside).
bool Grounded(const ReviewInsight& insight, absl::string_view title, absl::string_view text);

// JSON arrays as stored in insights.review_llm_analysis.
std::string FeaturesJson(const std::vector<FeatureFeedback>& features);
std::string ConcernsJson(const std::vector<QualityConcern>& concerns);

}  // namespace marketlens::analyzer::llm_review

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_REVIEW_SCHEMA_H_
