#include "services/analyzer/text_analyzer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/analyzer/llm/json_schema.h"

namespace marketlens::analyzer {
namespace {

using google::protobuf::Struct;

constexpr size_t kMaxPromptText = 16000;
constexpr size_t kMaxAspects = 64;  // AnalyzeReviewSchema's limit

void AddObject(Struct* s, const std::string& list, Struct item) {
  auto* values = (*s->mutable_fields())[list].mutable_list_value();
  *values->add_values()->mutable_struct_value() = std::move(item);
}
void EnsureList(Struct* s, const std::string& list) {
  (void)(*s->mutable_fields())[list].mutable_list_value();
}

// The local engine's answer to "analyze_review": its full analysis of the context's review.
absl::StatusOr<Struct> WriteAnalysis(const llm::RenderedPrompt& p) {
  const auto* c = dynamic_cast<const AnalyzeContext*>(p.context.get());
  if (c == nullptr || c->engine == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(p.id, ": not the context this writer reads"));
  }
  const Analysis a =
      c->engine->Analyze({.title = c->title, .text = c->text, .category = c->category, .rating = c->rating});
  Struct out;
  llm::SetNumber(&out, "sentiment", a.sentiment);
  llm::SetString(&out, "label", a.label);
  EnsureList(&out, "aspects");
  for (size_t i = 0; i < a.aspects.size() && i < kMaxAspects; ++i) {
    Struct m;
    llm::SetString(&m, "aspect", a.aspects[i].aspect);
    llm::SetNumber(&m, "polarity", a.aspects[i].polarity);
    llm::SetString(&m, "quote", a.aspects[i].quote);
    (*m.mutable_fields())["discovered"].set_bool_value(a.aspects[i].discovered);
    AddObject(&out, "aspects", std::move(m));
  }
  EnsureList(&out, "issues");
  for (const IssueFlag& i : a.issues) {
    Struct f;
    llm::SetString(&f, "category", i.category);
    llm::SetString(&f, "sentence", i.sentence);
    AddObject(&out, "issues", std::move(f));
  }
  EnsureList(&out, "quality");
  for (const QualityFlag& q : a.quality_flags) {
    Struct f;
    llm::SetString(&f, "flag", q.flag);
    llm::SetString(&f, "sentence", q.sentence);
    AddObject(&out, "quality", std::move(f));
  }
  llm::SetNumber(&out, "rule_score", std::clamp(a.rule_score, -1.0, 1.0));
  llm::SetNumber(&out, "model_score", std::clamp(a.model_score, -1.0, 1.0));
  llm::SetString(&out, "model_version", c->engine->version());
  return out;
}

// Whether a quoted sentence is the review's own (trailing punctuation aside); an empty quote is.
bool QuoteIn(const std::string& quote, const v1::AnalyzeTextRequest& req) {
  std::string q = quote;
  while (!q.empty() && (q.back() == '.' || q.back() == '!' || q.back() == '?')) q.pop_back();
  if (absl::EndsWith(q, "...")) q.resize(q.size() - 3);  // a long quote cut short
  return q.empty() || absl::StrContains(req.text(), q) || absl::StrContains(req.title(), q);
}

bool Grounded(const v1::TextAnalysis& a, const v1::AnalyzeTextRequest& req) {
  for (const auto& m : a.aspects()) {
    if (!QuoteIn(m.quote(), req)) return false;
  }
  for (const auto& i : a.issues()) {
    if (!QuoteIn(i.sentence(), req)) return false;
  }
  return true;
}

}  // namespace

void RegisterAnalyzeWriter(llm::LocalBackend* backend) { backend->Register("analyze_review", WriteAnalysis); }

void AnalysisFromAnswer(const Struct& answer, v1::TextAnalysis* out) {
  out->set_sentiment(llm::GetNumber(answer, "sentiment"));
  out->set_label(llm::GetString(answer, "label"));
  for (const auto& a : llm::GetObjects(answer, "aspects")) {
    auto* m = out->add_aspects();
    m->set_aspect(llm::GetString(a, "aspect"));
    m->set_polarity(llm::GetNumber(a, "polarity"));
    m->set_quote(llm::GetString(a, "quote"));
    auto d = a.fields().find("discovered");
    m->set_discovered(d != a.fields().end() && d->second.bool_value());
  }
  for (const auto& i : llm::GetObjects(answer, "issues")) {
    auto* f = out->add_issues();
    f->set_category(llm::GetString(i, "category"));
    f->set_sentence(llm::GetString(i, "sentence"));
  }
  for (const auto& q : llm::GetObjects(answer, "quality")) {
    auto* f = out->add_quality();
    f->set_flag(llm::GetString(q, "flag"));
    f->set_sentence(llm::GetString(q, "sentence"));
    out->add_quality_flags(f->flag());
  }
  out->set_rule_score(llm::GetNumber(answer, "rule_score"));
  out->set_model_score(llm::GetNumber(answer, "model_score"));
  out->set_model_version(llm::GetString(answer, "model_version"));
}

TextAnalyzer::TextAnalyzer(const Engine* engine, const llm::PromptLibrary* prompts,
                           llm::StructuredLlm* configured, AnalyzerMetrics* metrics)
    : engine_(engine), prompts_(prompts), configured_(configured), metrics_(metrics) {
  if (prompts_ == nullptr) {
    auto embedded = llm::PromptLibrary::Embedded();
    if (embedded.ok()) {
      own_prompts_ = std::make_unique<llm::PromptLibrary>(*std::move(embedded));
      prompts_ = own_prompts_.get();
    }
  }
  // The local engine: one attempt (no I/O to retry), nothing cached (it is cheaper than Redis), and a
  // breaker that never opens (its failures would be our bugs, not an outage).
  auto backend = std::make_unique<llm::LocalBackend>("local-engine");
  RegisterAnalyzeWriter(backend.get());
  llm::StructuredLlmOptions o;
  o.backoff.max_attempts = 1;
  o.invalid_output_retries = 0;
  o.breaker_threshold = 1 << 30;
  local_ = std::make_unique<llm::StructuredLlm>(std::move(backend), nullptr, o, metrics_);
}

TextAnalyzer::~TextAnalyzer() = default;

absl::Status TextAnalyzer::Analyze(const v1::AnalyzeTextRequest& req, absl::Time deadline,
                                   v1::TextAnalysis* out) {
  const bool have_remote = configured_ != nullptr && configured_->backend_name() != "local";
  if (req.backend() == "openai" && !have_remote) {
    return absl::FailedPreconditionError("backend \"openai\" is not configured (--llm_backend=openai)");
  }
  const bool remote = have_remote && req.backend() != "local";

  llm::RenderedPrompt prompt;
  if (prompts_ != nullptr) {
    if (auto tmpl = prompts_->Get("analyze_review"); tmpl.ok()) {
      auto rendered = (*tmpl)->Render({{"category", req.category().empty() ? "unknown" : req.category()},
                                       {"title", req.title()},
                                       {"text", req.text().substr(0, kMaxPromptText)}});
      if (rendered.ok()) prompt = *std::move(rendered);
    }
  }
  if (prompt.id.empty()) prompt.id = "analyze_review.local";  // the local engine reads the context only
  auto context = std::make_shared<AnalyzeContext>();
  context->engine = engine_;
  context->title = req.title();
  context->text = req.text();
  context->category = req.category();
  context->rating = req.rating();
  prompt.context = std::move(context);

  if (remote) {
    std::string reason = "error";
    if (prompt.id != "analyze_review.local") {
      auto r = configured_->Call(prompt, llm::AnalyzeReviewSchema(), deadline);
      if (r.ok()) {
        v1::TextAnalysis answer;
        AnalysisFromAnswer(r->value, &answer);
        if (Grounded(answer, req)) {
          *out = std::move(answer);
          out->set_backend(r->backend);
          out->set_model_version(absl::StrCat(r->model, "/", r->prompt_id));
          out->set_rule_score(0);
          out->set_model_score(0);
          // Quality flags: the input checks (the same whatever answers), and rating_mismatch on the
          // answer's own sentiment, quoting its most contradicting sentence.
          out->clear_quality();
          out->clear_quality_flags();
          const Analysis checks =
              engine_->Analyze({.title = req.title(), .text = req.text(), .category = req.category()});
          for (const QualityFlag& f : checks.quality_flags) {
            auto* q = out->add_quality();
            q->set_flag(f.flag);
            q->set_sentence(f.sentence);
          }
          const bool panned_but_high = req.rating() >= 4 && out->sentiment() <= -0.4;
          const bool praised_but_low = req.rating() >= 1 && req.rating() <= 2 && out->sentiment() >= 0.4;
          if (panned_but_high || praised_but_low) {
            std::string sentence;
            double most = 0;
            for (const auto& m : out->aspects()) {
              const double against = panned_but_high ? -m.polarity() : m.polarity();
              if (against > most) {
                most = against;
                sentence = m.quote();
              }
            }
            if (sentence.empty() && panned_but_high && out->issues_size() > 0)
              sentence = out->issues(0).sentence();
            auto* q = out->add_quality();
            q->set_flag("rating_mismatch");
            q->set_sentence(sentence);
          }
          for (const auto& q : out->quality()) out->add_quality_flags(q.flag());
          return absl::OkStatus();
        }
        reason = "ungrounded";
      }
    }
    metrics_->llm_fallbacks(reason).Increment();
  }

  // The local engine, through the same interface. It does no I/O: it answers even when a remote backend
  // used up the deadline.
  auto r =
      local_->Call(prompt, llm::AnalyzeReviewSchema(), std::max(deadline, absl::Now() + absl::Seconds(1)));
  if (!r.ok()) {
    return absl::InternalError(
        absl::StrCat("the local engine could not analyse the text: ", r.status().message()));
  }
  out->Clear();
  AnalysisFromAnswer(r->value, out);
  out->set_backend(r->backend);
  return absl::OkStatus();
}

}  // namespace marketlens::analyzer
