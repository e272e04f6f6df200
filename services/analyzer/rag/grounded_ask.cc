#include "services/analyzer/rag/grounded_ask.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace marketlens::analyzer::rag {
namespace {

// Maps an LLM's cited ids ("contact:c1" or "c1") onto the facts; false when it cites anything else.
bool ResolveCitations(const std::vector<std::string>& cited, const std::vector<Fact>& facts,
                      std::vector<const Fact*>* out) {
  for (const std::string& c : cited) {
    const Fact* found = nullptr;
    for (const Fact& f : facts) {
      if (c == f.source + ":" + f.id || c == f.id) {
        found = &f;
        break;
      }
    }
    if (found == nullptr) return false;
    out->push_back(found);
  }
  return true;
}

bool IsLocal(llm::StructuredLlm* llm) { return llm != nullptr && llm->backend_name() == "local"; }

}  // namespace

void AddCitation(const Fact& f, google::protobuf::RepeatedPtrField<v1::Citation>* out,
                 std::set<std::string>* seen) {
  if (!seen->insert(f.source + ":" + f.id).second) return;
  auto* c = out->Add();
  c->set_source(f.source);
  c->set_id(f.id);
  c->set_excerpt(Excerpt(f.text, 200));
}

std::string FactLines(const std::vector<Fact>& facts) {
  std::string out;
  for (size_t i = 0; i < facts.size() && i < kMaxFacts; ++i) {
    absl::StrAppend(&out, "[", facts[i].source, ":", facts[i].id, "] ", facts[i].text, "\n");
  }
  return out;
}

absl::StatusOr<Answer> Ask(llm::StructuredLlm* configured, llm::StructuredLlm* local,
                           const llm::PromptLibrary* prompts, const std::string& name,
                           const std::map<std::string, std::string>& vars,
                           std::shared_ptr<const llm::PromptContext> context, const llm::Schema& schema,
                           const std::vector<Fact>& citable, bool need_citation, absl::Time deadline,
                           AnalyzerMetrics* metrics, const std::string& cache_scope) {
  llm::RenderedPrompt prompt;
  if (prompts != nullptr) {
    auto tmpl = prompts->Get(name);
    if (tmpl.ok()) {
      auto rendered = (*tmpl)->Render(vars);
      if (rendered.ok()) prompt = *std::move(rendered);
    }
  }
  const bool have_text = !prompt.id.empty();
  if (!have_text) prompt.id = name + ".local";  // the local engine reads the context, not the text
  prompt.cache_scope = cache_scope;
  prompt.context = std::move(context);
  llm::StructuredLlm* engine = IsLocal(configured) ? configured : local;
  if (configured != nullptr && !IsLocal(configured) && have_text && !citable.empty()) {
    auto r = configured->Call(prompt, schema, deadline);
    Answer a;
    if (r.ok() && ResolveCitations(llm::GetStrings(r->value, "cited_ids"), citable, &a.cited) &&
        (!need_citation || !a.cited.empty())) {
      a.value = std::move(r->value);
      a.backend = r->backend;
      return a;
    }
    metrics->llm_fallbacks(r.ok() ? "ungrounded" : "error").Increment();
  }
  // The local engine does no I/O: it answers even when a remote backend used up the deadline.
  auto r = engine->Call(prompt, schema, std::max(deadline, absl::Now() + absl::Seconds(1)));
  if (!r.ok()) {
    return absl::InternalError(
        absl::StrCat("the local engine could not write ", name, ": ", r.status().message()));
  }
  Answer a;
  if (!ResolveCitations(llm::GetStrings(r->value, "cited_ids"), citable, &a.cited)) {
    return absl::InternalError(absl::StrCat("the local engine cited a row it was not given (", name, ")"));
  }
  a.value = std::move(r->value);
  a.backend = r->backend;
  return a;
}

}  // namespace marketlens::analyzer::rag
