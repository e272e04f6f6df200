#include "services/analyzer/llm/structured_llm.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging/log.h"
#include "common/migrate/sha256.h"
#include "google/protobuf/util/json_util.h"

namespace marketlens::analyzer::llm {
namespace {

bool Retryable(const absl::Status& s) {
  return absl::IsResourceExhausted(s) || absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
}

absl::Duration RetryAfter(const absl::Status& s) {
  auto payload = s.GetPayload(kRetryAfterPayload);
  int64_t ms = 0;
  if (payload.has_value() && absl::SimpleAtoi(std::string(*payload), &ms) && ms >= 0)
    return absl::Milliseconds(ms);
  return absl::ZeroDuration();
}

}  // namespace

StructuredLlm::StructuredLlm(std::unique_ptr<LlmBackend> backend, redis::Cache* cache,
                             StructuredLlmOptions options, AnalyzerMetrics* metrics)
    : backend_(std::move(backend)),
      cache_(cache),
      options_(options),
      metrics_(metrics),
      breaker_(options.breaker_threshold, options.breaker_open_for) {}

std::string StructuredLlm::CacheKey(const RenderedPrompt& prompt) const {
  return prompt.cache_scope +
         migrate::Sha256Hex(absl::StrCat(prompt.id, "\x1f", backend_->name(), "\x1f", backend_->model(),
                                         "\x1f", prompt.system, "\x1f", prompt.user));
}

absl::StatusOr<StructuredResult> StructuredLlm::Call(const RenderedPrompt& prompt, const Schema& schema,
                                                     absl::Time deadline) {
  const std::string name = backend_->name();
  StructuredResult result;
  result.backend = name;
  result.model = backend_->model();
  result.prompt_id = prompt.id;
  const std::string key = cache_ != nullptr ? CacheKey(prompt) : "";
  if (cache_ != nullptr) {
    if (auto hit = cache_->Get(key)) {
      auto parsed = ParseJsonObject(*hit);
      if (parsed.ok() && Validate(*parsed, schema).ok()) {
        metrics_->llm_calls(name, "cached").Increment();
        result.value = *std::move(parsed);
        result.cached = true;
        return result;
      }
    }
  }
  int invalid = 0;
  int failures = 0;
  absl::Status last = absl::UnknownError("no attempt made");
  while (true) {
    if (!breaker_.Allow()) {
      metrics_->llm_calls(name, "circuit_open").Increment();
      return absl::UnavailableError(
          absl::StrCat("the ", name, " backend is failing (circuit open); last error: ", last.ToString()));
    }
    ++result.attempts;
    const absl::Time start = absl::Now();
    absl::StatusOr<LlmResponse> r = backend_->Complete(prompt, deadline);
    metrics_->llm_latency(name).Observe(absl::ToDoubleSeconds(absl::Now() - start));
    if (r.ok()) {
      breaker_.RecordSuccess();
      metrics_->llm_tokens(name, "prompt").Increment(static_cast<double>(r->prompt_tokens));
      metrics_->llm_tokens(name, "completion").Increment(static_cast<double>(r->completion_tokens));
      auto parsed = ParseJsonObject(r->content);
      absl::Status valid = parsed.ok() ? Validate(*parsed, schema) : parsed.status();
      if (valid.ok()) {
        metrics_->llm_calls(name, "ok").Increment();
        if (!r->model.empty()) result.model = r->model;
        if (cache_ != nullptr) {
          std::string json;
          (void)google::protobuf::util::MessageToJsonString(*parsed, &json);
          cache_->Put(key, json, options_.cache_ttl);
        }
        result.value = *std::move(parsed);
        return result;
      }
      if (r->finish_reason == "length") {
        // Cut at max_tokens: asking the same again gets the same cut answer. The caller may ask for less
        // (a smaller batch) or answer locally.
        metrics_->llm_calls(name, "truncated").Increment();
        logging::Warn("LLM answer truncated", {{"prompt", prompt.id}, {"backend", name}, {"error", valid}});
        return absl::OutOfRangeError(
            absl::StrCat("the answer was cut at max_tokens (finish_reason \"length\"): ", valid.message()));
      }
      metrics_->llm_calls(name, "invalid_output").Increment();
      logging::Warn("LLM answer rejected", {{"prompt", prompt.id}, {"backend", name}, {"error", valid}});
      last = valid;
      if (invalid++ >= options_.invalid_output_retries) return valid;
      if (absl::Now() >= deadline)
        return absl::DeadlineExceededError(absl::StrCat("no time left; ", valid.ToString()));
      continue;
    }
    breaker_.RecordFailure();
    metrics_->llm_calls(name, "error").Increment();
    last = r.status();
    logging::Warn("LLM call failed", {{"prompt", prompt.id}, {"backend", name}, {"error", last}});
    if (!Retryable(last)) return last;
    if (options_.backoff.max_attempts > 0 && ++failures >= options_.backoff.max_attempts) return last;
    absl::Duration wait = retry::FullJitterDelay(options_.backoff, failures - 1);
    wait = std::max(wait, std::min(RetryAfter(last), options_.max_retry_after));
    if (absl::Now() + wait >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("deadline reached after ", result.attempts,
                                                      " LLM calls; last error: ", last.ToString()));
    }
    for (const absl::Time until = absl::Now() + wait; absl::Now() < until;) {
      if (options_.cancel != nullptr && options_.cancel->load()) return absl::CancelledError("stopping");
      absl::SleepFor(std::min(absl::Milliseconds(50), until - absl::Now()));
    }
  }
}

}  // namespace marketlens::analyzer::llm
