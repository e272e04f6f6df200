#include "services/analyzer/content_setup.h"

#include <fstream>
#include <memory>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/config/secret.h"
#include "common/config/validate.h"
#include "common/logging/log.h"
#include "common/redis/cache.h"
#include "common/server/channel.h"
#include "marketlens/recommender/v1/recommender.grpc.pb.h"
#include "services/analyzer/llm/json_schema.h"
#include "services/analyzer/llm/openai_backend.h"
#include "services/analyzer/llm/prompts.h"
#include "services/analyzer/llm/structured_llm.h"
#include "services/analyzer/rag/content_service.h"

ABSL_FLAG(std::string, llm_backend, "local", "text generation backend: local (offline, default) or openai");
ABSL_FLAG(std::string, llm_base_url, "https://api.openai.com/v1",
          "base URL of an OpenAI-compatible API (\".../v1\"; /chat/completions "
          "is appended)");
ABSL_FLAG(std::string, llm_model, "gpt-4o-mini", "model name sent to the OpenAI-compatible API");
ABSL_FLAG(std::string, llm_api_key, "", "API key (prefer MARKETLENS_LLM_API_KEY or --llm_api_key_file)");
ABSL_FLAG(std::string, llm_api_key_file, "", "file holding the API key (a mounted Secret)");
ABSL_FLAG(absl::Duration, llm_timeout, absl::Seconds(20),
          "per-call timeout of the LLM (also bounded by the RPC deadline)");
ABSL_FLAG(int, llm_max_attempts, 4,
          "LLM calls per request on 429/5xx/timeouts (with backoff and Retry-After)");
ABSL_FLAG(absl::Duration, llm_cache_ttl, absl::Hours(24), "how long LLM answers are cached in Redis");
ABSL_FLAG(int, llm_breaker_threshold, 5, "consecutive LLM failures that open the circuit");
ABSL_FLAG(absl::Duration, llm_breaker_open_for, absl::Seconds(30),
          "how long the open circuit sends no calls");
ABSL_FLAG(std::string, prompt_dir, "",
          "directory of prompt templates <name>.v<N>.txt; empty: the embedded ones");
ABSL_FLAG(std::string, recommender_address, "",
          "gRPC target of the recommender, for products recommended in emails "
          "(empty: none)");

namespace marketlens::analyzer {
namespace {

bool QuoteIn(const std::string& quote, const v1::AnalyzeTextRequest& req) {
  if (quote.empty()) return true;
  std::string q = quote;
  while (!q.empty() && (q.back() == '.' || q.back() == '!' || q.back() == '?')) q.pop_back();
  return absl::StrContains(req.text(), q) || absl::StrContains(req.title(), q);
}

// AnalyzeText through the LLM; the local engine answers when it fails or quotes text the review lacks.
absl::Status AnalyzeWithLlm(llm::StructuredLlm* llm, const llm::PromptTemplate* tmpl, const Engine* engine,
                            const v1::AnalyzeTextRequest& req, absl::Time deadline, v1::TextAnalysis* out) {
  auto local = [&](const std::string& reason) {
    AnalyzerMetrics::Default().llm_fallbacks(reason).Increment();
    out->Clear();
    ToProto(
        engine->Analyze(
            {.title = req.title(), .text = req.text(), .category = req.category(), .rating = req.rating()}),
        out);
    out->set_model_version(engine->version());
    out->set_backend("local");
    return absl::OkStatus();
  };
  auto prompt = tmpl->Render({{"category", req.category().empty() ? "unknown" : req.category()},
                              {"title", req.title()},
                              {"text", req.text().substr(0, 16000)}});
  if (!prompt.ok()) return local("error");
  auto r = llm->Call(*prompt, llm::AnalyzeReviewSchema(), deadline);
  if (!r.ok()) return local("error");
  out->set_sentiment(llm::GetNumber(r->value, "sentiment"));
  out->set_label(llm::GetString(r->value, "label"));
  for (const auto& a : llm::GetObjects(r->value, "aspects")) {
    auto* m = out->add_aspects();
    m->set_aspect(llm::GetString(a, "aspect"));
    m->set_polarity(llm::GetNumber(a, "polarity"));
    m->set_quote(llm::GetString(a, "quote"));
    if (!QuoteIn(m->quote(), req)) return local("ungrounded");
  }
  for (const auto& i : llm::GetObjects(r->value, "issues")) {
    auto* f = out->add_issues();
    f->set_category(llm::GetString(i, "category"));
    f->set_sentence(llm::GetString(i, "sentence"));
    if (!QuoteIn(f->sentence(), req)) return local("ungrounded");
  }
  // Quality flags are the local engine's (they describe the input, not an opinion).
  const Analysis flags = engine->Analyze({.title = req.title(), .text = req.text(), .rating = req.rating()});
  for (const auto& f : flags.quality_flags) out->add_quality_flags(f);
  out->set_backend(r->backend);
  out->set_model_version(absl::StrCat(r->model, "/", r->prompt_id));
  return absl::OkStatus();
}

}  // namespace

absl::Status SetupContent(service::ServiceContext& ctx, Engine* engine, AnalyzerServiceImpl* service) {
  const std::string backend = absl::GetFlag(FLAGS_llm_backend);
  config::ExitOnInvalid({
      config::ValidateOneOf("llm_backend", backend, {"local", "openai"}),
      config::ValidatePositive("llm_timeout", absl::GetFlag(FLAGS_llm_timeout)),
      config::ValidateRange("llm_max_attempts", absl::GetFlag(FLAGS_llm_max_attempts), 1, 10),
      config::ValidateRange("llm_breaker_threshold", absl::GetFlag(FLAGS_llm_breaker_threshold), 1, 1000),
      config::ValidatePositive("llm_breaker_open_for", absl::GetFlag(FLAGS_llm_breaker_open_for)),
  });
  absl::StatusOr<llm::PromptLibrary> prompts =
      absl::GetFlag(FLAGS_prompt_dir).empty()
          ? llm::PromptLibrary::Embedded()
          : llm::PromptLibrary::FromDirectory(absl::GetFlag(FLAGS_prompt_dir));
  if (!prompts.ok()) return prompts.status();
  for (const char* name :
       {"analyze_review", "summarize_interactions", "generate_content", "generate_brief"}) {
    if (!prompts->Get(name).ok())
      return absl::InvalidArgumentError(absl::StrCat("prompt template ", name, " is missing"));
  }
  auto* library = new llm::PromptLibrary(*std::move(prompts));  // lives as long as the process

  // One LlmBackend, chosen by configuration; StructuredLlm adds the cache, retries, breaker and schema
  // checks.
  llm::StructuredLlmOptions so;
  so.backoff.max_attempts = absl::GetFlag(FLAGS_llm_max_attempts);
  so.cache_ttl = absl::GetFlag(FLAGS_llm_cache_ttl);
  so.breaker_threshold = absl::GetFlag(FLAGS_llm_breaker_threshold);
  so.breaker_open_for = absl::GetFlag(FLAGS_llm_breaker_open_for);
  llm::StructuredLlm* structured = nullptr;
  if (backend == "openai") {
    auto key = config::ReadSecret(absl::GetFlag(FLAGS_llm_api_key), absl::GetFlag(FLAGS_llm_api_key_file),
                                  "llm_api_key");
    if (!key.ok()) return key.status();
    llm::OpenAiOptions o;
    o.base_url = absl::GetFlag(FLAGS_llm_base_url);
    o.model = absl::GetFlag(FLAGS_llm_model);
    o.api_key = *key;
    o.timeout = absl::GetFlag(FLAGS_llm_timeout);
    redis::Cache* cache =
        ctx.redis() != nullptr ? new redis::Cache(ctx.redis(), {.prefix = "analyzer:llm:"}) : nullptr;
    structured = new llm::StructuredLlm(std::make_unique<llm::OpenAiBackend>(o), cache, so);
    const llm::PromptTemplate* analyze = *library->Get("analyze_review");
    service->set_text_backend([structured, analyze, engine](const v1::AnalyzeTextRequest& req,
                                                            absl::Time deadline, v1::TextAnalysis* out) {
      return AnalyzeWithLlm(structured, analyze, engine, req, deadline, out);
    });
    logging::Info("LLM backend configured", {{"backend", backend},
                                             {"base_url", o.base_url},
                                             {"model", o.model},
                                             {"api_key_set", !o.api_key.empty()}});
  } else {
    // The local engine: deterministic and offline, so one attempt and no cache. (AnalyzeText keeps the
    // engine's own, richer analysis.)
    so.backoff.max_attempts = 1;
    so.invalid_output_retries = 0;
    so.breaker_threshold = 1 << 30;  // its failures would be bugs, not an outage
    structured = new llm::StructuredLlm(rag::MakeLocalBackend(), nullptr, so);
    logging::Info("LLM backend configured", {{"backend", backend}});
  }

  rag::RecommendFn recommend;
  if (!absl::GetFlag(FLAGS_recommender_address).empty()) {
    auto stub = std::shared_ptr<recommender::v1::RecommenderService::Stub>(
        recommender::v1::RecommenderService::NewStub(
            server::MakeChannel(absl::GetFlag(FLAGS_recommender_address))));
    recommend = [stub](const std::string& customer_id, int n,
                       absl::Time deadline) -> absl::StatusOr<std::vector<rag::Recommendation>> {
      grpc::ClientContext rpc;
      rpc.set_deadline(absl::ToChronoTime(deadline));
      recommender::v1::RecommendRequest req;
      req.set_user_id(customer_id);
      req.set_n(n);
      req.set_surface("email");
      recommender::v1::RecommendResponse resp;
      grpc::Status s = stub->Recommend(&rpc, req, &resp);
      if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
      std::vector<rag::Recommendation> out;
      for (const auto& item : resp.items()) out.push_back({item.item_id(), item.reason()});
      return out;
    };
  }
  auto* content = new rag::GroundedContent(ctx.postgres(), engine, structured, library, recommend);
  service->set_content(content);
  return absl::OkStatus();
}

}  // namespace marketlens::analyzer
