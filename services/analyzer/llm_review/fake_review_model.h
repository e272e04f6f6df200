// A fake OpenAI-compatible model for the LLM review mode's tests, on FakeLlmServer (a real HTTP server): it
// reads the "review_batch" prompt's reviews and answers as servers people run do, on good and bad days.
//
//   - response formats: json_schema (OpenAI, vLLM, llama.cpp's server, Ollama >= 0.5 accept it) or, with
//     `reject_json_schema`, HTTP 400 naming response_format like a server without it (older Ollama and
//     llama.cpp builds, LM Studio); json_object and none are always accepted
//   - max_tokens: an answer longer than max_tokens (~4 bytes a token) is cut there, finish_reason "length"
//   - `ignore_schema`: a model that answers in its own shape (prose and its own keys)
//   - per review (by its position r1, r2, ...): left out of the answer, answered against the schema, or
//     quoting a sentence the review does not contain
//   - `rate_limited_first`: the first N requests get 429 with Retry-After (seconds, like OpenAI and proxies)
//   - `loading_first`: the first N requests get 503 "Loading model", as llama.cpp's server answers while it
//     loads the weights
//   - `delay`: a slow server (past the caller's deadline)
//   - `report_usage`: token usage in the answer (prompt: request bytes / 4, completion: answer bytes / 4);
//     off: no "usage" object, as some proxies and older local servers send
// Its analysis of a review is deterministic: sentiment (rating - 3) / 2; each sentence naming a feature of
// a small list (battery, screen, sound, strap, price, size, charger, fit) is feature feedback with the
// rating's sign; a sentence saying it broke or stopped working is a "defective" issue and a "defects"
// quality concern.
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_FAKE_REVIEW_MODEL_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_FAKE_REVIEW_MODEL_H_

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/analyzer/llm/fake_llm_server.h"

namespace marketlens::analyzer::llm_review {

struct FakeModelBehaviour {
  bool reject_json_schema = false;
  bool ignore_schema = false;
  int rate_limited_first = 0;
  int loading_first = 0;  // the first N requests get 503 "Loading model" (llama.cpp's server starting up)
  int retry_after_seconds = 1;
  absl::Duration delay = absl::ZeroDuration();
  bool report_usage = true;
  std::set<std::string> omit_ids;        // "r2": left out of the answer
  std::set<std::string> off_schema_ids;  // answered with a label outside the enum
  std::set<std::string> made_up_ids;     // quoting a sentence the review does not contain
};

class FakeReviewModel {
 public:
  explicit FakeReviewModel(FakeModelBehaviour behaviour = {});
  std::string base_url() const { return server_.base_url(); }
  int requests() { return server_.requests(); }
  std::vector<llm::HttpRequest> recorded() { return server_.recorded(); }
  void set_behaviour(FakeModelBehaviour behaviour);
  // The answer the model gives for a batch prompt's user text (the whole JSON, before any cut).
  static std::string Answer(const std::string& user, const FakeModelBehaviour& behaviour);
  // The review texts (JSON lines) a recorded request asked about.
  static std::vector<std::string> ReviewLines(const std::string& user);

 private:
  llm::HttpResponse Handle(const llm::HttpRequest& req);
  absl::Mutex mu_;
  FakeModelBehaviour behaviour_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> seen_{0};
  llm::FakeLlmServer server_;
};

}  // namespace marketlens::analyzer::llm_review

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_REVIEW_FAKE_REVIEW_MODEL_H_
