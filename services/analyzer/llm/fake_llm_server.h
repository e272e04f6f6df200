// A real HTTP/1.1 server on 127.0.0.1 for tests of the OpenAI-compatible backend: each request is recorded
// and answered by a handler the test provides (any status, headers, body, or a delay to simulate a hang).
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_FAKE_LLM_SERVER_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_FAKE_LLM_SERVER_H_

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace marketlens::analyzer::llm {

struct HttpRequest {
  std::string method, path, body;
  std::map<std::string, std::string> headers;  // lower-case names
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  absl::Duration delay = absl::ZeroDuration();  // before answering
};

// An OpenAI chat completion whose message content is `content`; `finish_reason` "length" is what servers
// say when the answer was cut at max_tokens. Negative token counts: no "usage" object (some servers and
// proxies send none).
HttpResponse ChatCompletion(const std::string& content, int prompt_tokens = 12, int completion_tokens = 34,
                            const std::string& finish_reason = "stop");

// What a chat completions request asked for (the fields the fakes act on).
struct ChatRequest {
  std::string model, system, user;
  std::string response_format;  // "", "json_object" or "json_schema"
  std::string schema_name;      // response_format.json_schema.name
  std::string schema;           // response_format.json_schema.schema, as JSON
  int max_tokens = 0;           // 0: not given
};
// INVALID_ARGUMENT when the body is not a chat completions request.
absl::StatusOr<ChatRequest> ParseChatRequest(const std::string& body);

class FakeLlmServer {
 public:
  explicit FakeLlmServer(std::function<HttpResponse(const HttpRequest&)> handler);
  ~FakeLlmServer();
  int port() const { return port_; }
  std::string base_url() const;  // "http://127.0.0.1:<port>/v1"
  int requests();
  std::vector<HttpRequest> recorded();
  void set_handler(std::function<HttpResponse(const HttpRequest&)> handler);

 private:
  void Serve(int fd);
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  absl::Mutex mu_;
  std::function<HttpResponse(const HttpRequest&)> handler_;
  std::vector<HttpRequest> requests_;
  std::vector<std::thread> workers_;
};

}  // namespace marketlens::analyzer::llm

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_FAKE_LLM_SERVER_H_
