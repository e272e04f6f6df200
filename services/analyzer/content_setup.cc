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
#include "common/status/macros.h"
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
ABSL_FLAG(int, retrieval_max_docs, 200000,
          "documents (reviews + contacts, the newest) the in-memory BM25 retrieval index holds (~0.5-1.2 KB "
          "each)");
ABSL_FLAG(absl::Duration, retrieval_refresh_interval, absl::Seconds(5),
          "how often the retrieval index reads newly analysed reviews and new contacts");
ABSL_FLAG(absl::Duration, retrieval_reconcile_interval, absl::Minutes(30),
          "how often the retrieval index is checked against all of raw.reviews and raw.contacts");
ABSL_FLAG(std::string, recommender_address, "",
          "gRPC target of the recommender, for products recommended in emails "
          "(empty: none)");

namespace marketlens::analyzer {

absl::Status SetupContent(service::ServiceContext& ctx, Engine* engine, AnalyzerServiceImpl* service) {
  const std::string backend = absl::GetFlag(FLAGS_llm_backend);
  config::ExitOnInvalid({
      config::ValidateOneOf("llm_backend", backend, {"local", "openai"}),
      config::ValidatePositive("llm_timeout", absl::GetFlag(FLAGS_llm_timeout)),
      config::ValidateRange("llm_max_attempts", absl::GetFlag(FLAGS_llm_max_attempts), 1, 10),
      config::ValidateRange("llm_breaker_threshold", absl::GetFlag(FLAGS_llm_breaker_threshold), 1, 1000),
      config::ValidatePositive("llm_breaker_open_for", absl::GetFlag(FLAGS_llm_breaker_open_for)),
      config::ValidateRange("retrieval_max_docs", absl::GetFlag(FLAGS_retrieval_max_docs), 1000, 50000000),
      config::ValidatePositive("retrieval_refresh_interval", absl::GetFlag(FLAGS_retrieval_refresh_interval)),
      config::ValidatePositive("retrieval_reconcile_interval",
                               absl::GetFlag(FLAGS_retrieval_reconcile_interval)),
  });
  ASSIGN_OR_RETURN(llm::PromptLibrary prompts,
                   absl::GetFlag(FLAGS_prompt_dir).empty()
                       ? llm::PromptLibrary::Embedded()
                       : llm::PromptLibrary::FromDirectory(absl::GetFlag(FLAGS_prompt_dir)));
  for (const char* name :
       {"analyze_review", "summarize_interactions", "generate_content", "generate_brief"}) {
    if (!prompts.Get(name).ok())
      return absl::InvalidArgumentError(absl::StrCat("prompt template ", name, " is missing"));
  }
  auto* library = new llm::PromptLibrary(std::move(prompts));  // lives as long as the process

  // One LlmBackend, chosen by configuration; StructuredLlm adds the cache, retries, breaker and schema
  // checks.
  llm::StructuredLlmOptions so;
  so.backoff.max_attempts = absl::GetFlag(FLAGS_llm_max_attempts);
  so.cache_ttl = absl::GetFlag(FLAGS_llm_cache_ttl);
  so.breaker_threshold = absl::GetFlag(FLAGS_llm_breaker_threshold);
  so.breaker_open_for = absl::GetFlag(FLAGS_llm_breaker_open_for);
  llm::StructuredLlm* structured = nullptr;  // lives as long as the process
  if (backend == "openai") {
    ASSIGN_OR_RETURN(auto key, config::ReadSecret(absl::GetFlag(FLAGS_llm_api_key),
                                                  absl::GetFlag(FLAGS_llm_api_key_file), "llm_api_key"));
    llm::OpenAiOptions o;
    o.base_url = absl::GetFlag(FLAGS_llm_base_url);
    o.model = absl::GetFlag(FLAGS_llm_model);
    o.api_key = key;
    o.timeout = absl::GetFlag(FLAGS_llm_timeout);
    redis::Cache* cache =
        ctx.redis() != nullptr ? new redis::Cache(ctx.redis(), {.prefix = "analyzer:llm:"}) : nullptr;
    structured = new llm::StructuredLlm(std::make_unique<llm::OpenAiBackend>(o), cache, so);
    logging::Info("LLM backend configured", {{"backend", backend},
                                             {"base_url", o.base_url},
                                             {"model", o.model},
                                             {"api_key_set", !o.api_key.empty()}});
  } else {
    // The local engine: deterministic and offline, so one attempt and no cache.
    so.backoff.max_attempts = 1;
    so.invalid_output_retries = 0;
    so.breaker_threshold = 1 << 30;  // its failures would be bugs, not an outage
    auto local = rag::MakeLocalBackend();
    RegisterAnalyzeWriter(local.get());
    structured = new llm::StructuredLlm(std::move(local), nullptr, so);
    logging::Info("LLM backend configured", {{"backend", backend}});
  }

  // AnalyzeText: the same backend, the local engine answering whenever a remote one fails.
  service->set_text_analyzer(new TextAnalyzer(engine, library, structured));

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
  // The process-wide retrieval index: loaded from Postgres in the background, then kept current; stopped
  // after the gRPC drain, before the shared clients go.
  rag::CorpusSync* corpus = nullptr;
  if (ctx.postgres() != nullptr) {
    auto* index =
        new rag::CorpusIndex({.max_docs = static_cast<size_t>(absl::GetFlag(FLAGS_retrieval_max_docs))});
    corpus = new rag::CorpusSync(ctx.postgres(), index,
                                 {.refresh_interval = absl::GetFlag(FLAGS_retrieval_refresh_interval),
                                  .reconcile_interval = absl::GetFlag(FLAGS_retrieval_reconcile_interval)});
    corpus->Start();
    ctx.AddShutdownHook("retrieval index", [corpus] { corpus->Stop(); });
  }
  auto* content = new rag::GroundedContent(ctx.postgres(), engine, structured, library, recommend,
                                           &AnalyzerMetrics::Default(), corpus);
  service->set_content(content);
  return absl::OkStatus();
}

}  // namespace marketlens::analyzer
