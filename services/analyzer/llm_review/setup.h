// The LLM review mode's flags and wiring for main.cc (--llm_review; see llm_reviewer.h).
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_SETUP_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_SETUP_H_

#include "absl/status/status.h"
#include "common/postgres/pool.h"
#include "common/redis/client.h"
#include "common/service/service_main.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/pipeline.h"

namespace marketlens::analyzer::llm_review {

// With --llm_review: builds the reviewer (its own OpenAI-compatible backend from the --llm_* flags, its own
// breaker, the Redis cache on `redis`, results in Postgres through `pool`), makes it the pipeline's
// observer (call before pipeline->Start()), starts its thread and stops it in a shutdown hook. Without the
// flag: nothing. INVALID_ARGUMENT when --llm_review is set without --llm_backend=openai. `pool` and `redis`
// must outlive the process's threads (main leaks them).
absl::Status SetupLlmReview(service::ServiceContext& ctx, postgres::PgPool* pool, redis::RedisClient* redis,
                            const Engine* engine, Pipeline* pipeline);

}  // namespace marketlens::analyzer::llm_review

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_SETUP_H_
