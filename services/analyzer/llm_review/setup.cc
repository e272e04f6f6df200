#include "services/analyzer/llm_review/setup.h"

#include <memory>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/config/secret.h"
#include "common/config/validate.h"
#include "common/logging/log.h"
#include "common/redis/cache.h"
#include "common/status/macros.h"
#include "services/analyzer/llm/openai_backend.h"
#include "services/analyzer/llm/prompts.h"
#include "services/analyzer/llm_review/llm_reviewer.h"

// The remote model's flags are content_setup.cc's (one configuration for every LLM use).
ABSL_DECLARE_FLAG(std::string, llm_backend);
ABSL_DECLARE_FLAG(std::string, llm_base_url);
ABSL_DECLARE_FLAG(std::string, llm_model);
ABSL_DECLARE_FLAG(std::string, llm_api_key);
ABSL_DECLARE_FLAG(std::string, llm_api_key_file);
ABSL_DECLARE_FLAG(int, llm_max_attempts);
ABSL_DECLARE_FLAG(int, llm_breaker_threshold);
ABSL_DECLARE_FLAG(absl::Duration, llm_breaker_open_for);
ABSL_DECLARE_FLAG(std::string, prompt_dir);

ABSL_FLAG(bool, llm_review, false,
          "also analyse sampled reviews through the LLM in the background (needs --llm_backend=openai): "
          "issues, feature feedback, quality concerns into insights.review_llm_analysis");
ABSL_FLAG(int, llm_review_batch_size, 8, "reviews per LLM request in the LLM review mode");
ABSL_FLAG(int64_t, llm_review_reviews_per_day, 2000, "LLM review mode: reviews sent to the LLM per UTC day");
ABSL_FLAG(int64_t, llm_review_tokens_per_day, 2000000,
          "LLM review mode: tokens (prompt + completion) spent per UTC day");
ABSL_FLAG(double, llm_review_sample_rate, 0.05,
          "LLM review mode: share of reviews that are neither low-star nor flagged also looked at");
ABSL_FLAG(int, llm_review_queue_capacity, 10000, "LLM review mode: sampled reviews kept waiting at most");
ABSL_FLAG(absl::Duration, llm_review_timeout, absl::Seconds(60),
          "LLM review mode: deadline of one batch request, retries included");
ABSL_FLAG(std::string, llm_review_response_format, "json_schema",
          "LLM review mode: json_schema (falls back to json_object if the server rejects it) or json_object");
ABSL_FLAG(int, llm_review_answer_tokens, 250,
          "LLM review mode: answer tokens allowed per review (max_tokens = this x batch size + 200)");
ABSL_FLAG(absl::Duration, llm_review_cache_ttl, absl::Hours(24 * 30),
          "LLM review mode: how long answers are cached in Redis by content hash");

namespace marketlens::analyzer::llm_review {

absl::Status SetupLlmReview(service::ServiceContext& ctx, postgres::PgPool* pool, redis::RedisClient* redis,
                            const Engine* engine, Pipeline* pipeline) {
  if (!absl::GetFlag(FLAGS_llm_review)) return absl::OkStatus();
  if (absl::GetFlag(FLAGS_llm_backend) != "openai") {
    return absl::InvalidArgumentError("--llm_review needs --llm_backend=openai");
  }
  config::ExitOnInvalid({
      config::ValidateRange("llm_review_batch_size", absl::GetFlag(FLAGS_llm_review_batch_size), 1, 64),
      config::ValidateRange("llm_review_reviews_per_day", absl::GetFlag(FLAGS_llm_review_reviews_per_day),
                            int64_t{0}, int64_t{100000000}),
      config::ValidateRange("llm_review_tokens_per_day", absl::GetFlag(FLAGS_llm_review_tokens_per_day),
                            int64_t{0}, int64_t{100000000000}),
      config::ValidateRange("llm_review_sample_rate", absl::GetFlag(FLAGS_llm_review_sample_rate), 0.0, 1.0),
      config::ValidateRange("llm_review_queue_capacity", absl::GetFlag(FLAGS_llm_review_queue_capacity), 1,
                            10000000),
      config::ValidatePositive("llm_review_timeout", absl::GetFlag(FLAGS_llm_review_timeout)),
      config::ValidateOneOf("llm_review_response_format", absl::GetFlag(FLAGS_llm_review_response_format),
                            {"json_schema", "json_object"}),
      config::ValidateRange("llm_review_answer_tokens", absl::GetFlag(FLAGS_llm_review_answer_tokens), 50,
                            4000),
  });
  if (pipeline == nullptr) return absl::InvalidArgumentError("--llm_review needs the pipeline (--pipeline)");
  ASSIGN_OR_RETURN(llm::PromptLibrary prompts,
                   absl::GetFlag(FLAGS_prompt_dir).empty()
                       ? llm::PromptLibrary::Embedded()
                       : llm::PromptLibrary::FromDirectory(absl::GetFlag(FLAGS_prompt_dir)));
  auto* library = new llm::PromptLibrary(std::move(prompts));  // lives as long as the process
  ASSIGN_OR_RETURN(auto key, config::ReadSecret(absl::GetFlag(FLAGS_llm_api_key),
                                                absl::GetFlag(FLAGS_llm_api_key_file), "llm_api_key"));

  ReviewerOptions options;
  options.batch_size = absl::GetFlag(FLAGS_llm_review_batch_size);
  options.reviews_per_day = absl::GetFlag(FLAGS_llm_review_reviews_per_day);
  options.tokens_per_day = absl::GetFlag(FLAGS_llm_review_tokens_per_day);
  options.sampling.sample_rate = absl::GetFlag(FLAGS_llm_review_sample_rate);
  options.queue_capacity = static_cast<size_t>(absl::GetFlag(FLAGS_llm_review_queue_capacity));
  options.call_timeout = absl::GetFlag(FLAGS_llm_review_timeout);
  options.answer_tokens_per_review = absl::GetFlag(FLAGS_llm_review_answer_tokens);
  options.cache_ttl = absl::GetFlag(FLAGS_llm_review_cache_ttl);

  llm::OpenAiOptions o;
  o.base_url = absl::GetFlag(FLAGS_llm_base_url);
  o.model = absl::GetFlag(FLAGS_llm_model);
  o.api_key = key;
  o.timeout = options.call_timeout;
  o.json_schema = absl::GetFlag(FLAGS_llm_review_response_format) == "json_schema";
  o.max_tokens = options.answer_tokens_per_review * options.batch_size + 200;
  // Its own breaker and retries: background batches failing must not open the circuit for the RPCs, and
  // the other way round.
  llm::StructuredLlmOptions so;
  so.backoff.max_attempts = absl::GetFlag(FLAGS_llm_max_attempts);
  so.breaker_threshold = absl::GetFlag(FLAGS_llm_breaker_threshold);
  so.breaker_open_for = absl::GetFlag(FLAGS_llm_breaker_open_for);
  redis::Cache* cache =
      redis != nullptr ? new redis::Cache(redis, {.prefix = "analyzer:llm_review:"}) : nullptr;
  auto* store = new ReviewInsightStore(pool);
  ASSIGN_OR_RETURN(auto reviewer, LlmReviewer::Create(
                                      [o](const std::atomic<bool>* cancel) {
                                        llm::OpenAiOptions with_cancel = o;
                                        with_cancel.cancel = cancel;
                                        return std::make_unique<llm::OpenAiBackend>(with_cancel);
                                      },
                                      so, library, store, cache, engine, options));
  LlmReviewer* r = reviewer.release();  // lives as long as the process; its thread stops in the hook
  pipeline->set_analysed_observer(
      [r](const std::vector<std::pair<ReviewRow, Analysis>>& analysed) { r->Offer(analysed); });
  // Not ready until its table exists (migration 0048).
  if (postgres::PgPool* rpc_pool = ctx.postgres(); rpc_pool != nullptr) {
    ctx.AddReadinessCheck([rpc_pool]() -> absl::Status {
      auto q = rpc_pool->Exec("SELECT to_regclass('insights.review_llm_analysis') IS NOT NULL");
      if (!q.ok()) return absl::UnavailableError(absl::StrCat("postgres: ", q.status().message()));
      if (!(*q)[0][0].as<bool>()) {
        return absl::FailedPreconditionError(
            "--llm_review needs migration deploy/migrations/0048_analyzer_llm_review.sql");
      }
      return absl::OkStatus();
    });
  }
  r->Start();
  ctx.AddShutdownHook("llm review", [r] { r->Stop(); });
  logging::Info("LLM review mode on", {{"model", o.model},
                                       {"batch_size", options.batch_size},
                                       {"reviews_per_day", options.reviews_per_day},
                                       {"tokens_per_day", options.tokens_per_day},
                                       {"sample_rate", options.sampling.sample_rate},
                                       {"response_format", absl::GetFlag(FLAGS_llm_review_response_format)}});
  return absl::OkStatus();
}

}  // namespace marketlens::analyzer::llm_review
