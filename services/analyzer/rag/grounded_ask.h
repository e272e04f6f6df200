// One way to ask for grounded text: the configured LLM backend first, then the local engine, and the answer
// kept only when it cites rows it was given. Used by the three content RPCs (content_service.h).
#ifndef MARKETLENS_SERVICES_ANALYZER_RAG_GROUNDED_ASK_H_
#define MARKETLENS_SERVICES_ANALYZER_RAG_GROUNDED_ASK_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "marketlens/analyzer/v1/analyzer.pb.h"
#include "services/analyzer/analyzer_metrics.h"
#include "services/analyzer/llm/json_schema.h"
#include "services/analyzer/llm/prompts.h"
#include "services/analyzer/llm/structured_llm.h"
#include "services/analyzer/rag/content_text.h"

namespace marketlens::analyzer::rag {

// At most this many facts go into a prompt's text.
constexpr size_t kMaxFacts = 40;

struct Answer {
  google::protobuf::Struct value;
  std::vector<const Fact*> cited;  // into the `citable` facts given to Ask
  std::string backend;
};

// Renders prompt `name` with `vars` and the typed `context` (both hold the same retrieved facts). A remote
// backend (configured and not local) is asked first when there are facts to give it; its answer is used
// when it is valid, cites only rows in `citable` and (with `need_citation`) cites at least one. Otherwise
// (or when the backend fails) the local engine answers through the same LlmBackend interface, and the
// fallback is counted. `cache_scope` prefixes the answer's cache key (CustomerCacheScope: so that a person's
// cached answers can be found and erased).
absl::StatusOr<Answer> Ask(llm::StructuredLlm* configured, llm::StructuredLlm* local,
                           const llm::PromptLibrary* prompts, const std::string& name,
                           const std::map<std::string, std::string>& vars,
                           std::shared_ptr<const llm::PromptContext> context, const llm::Schema& schema,
                           const std::vector<Fact>& citable, bool need_citation, absl::Time deadline,
                           AnalyzerMetrics* metrics, const std::string& cache_scope = "");

// The facts as prompt lines, "[source:id] text", at most kMaxFacts.
std::string FactLines(const std::vector<Fact>& facts);
// Adds `f` to a response's citations once (`seen` holds "source:id" of those added).
void AddCitation(const Fact& f, google::protobuf::RepeatedPtrField<v1::Citation>* out,
                 std::set<std::string>* seen);

}  // namespace marketlens::analyzer::rag

#endif  // MARKETLENS_SERVICES_ANALYZER_RAG_GROUNDED_ASK_H_
