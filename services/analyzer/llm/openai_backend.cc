#include "services/analyzer/llm/openai_backend.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/logging/log.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace marketlens::analyzer::llm {
namespace {

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

struct Headers {
  int64_t retry_after_ms = -1;
};

size_t ReadHeader(char* data, size_t size, size_t n, void* user) {
  absl::string_view line(data, size * n);
  auto* h = static_cast<Headers*>(user);
  const size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    const std::string key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon)));
    const absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    double v = 0;
    if (key == "retry-after-ms" && absl::SimpleAtod(value, &v) && v >= 0) {
      h->retry_after_ms = static_cast<int64_t>(v);
    } else if (key == "retry-after" && h->retry_after_ms < 0 && absl::SimpleAtod(value, &v) && v >= 0) {
      h->retry_after_ms = static_cast<int64_t>(v * 1000);  // (the HTTP-date form is ignored)
    }
  }
  return size * n;
}

int AbortWhenCancelled(void* cancel, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

absl::Status HttpError(long code, const std::string& body, int64_t retry_after_ms) {
  const std::string snippet = body.substr(0, 300);
  const std::string msg = absl::StrCat("HTTP ", code, " from the LLM endpoint: ", snippet);
  if (code == 429) {
    absl::Status s = absl::ResourceExhaustedError(msg);
    if (retry_after_ms >= 0) s.SetPayload(kRetryAfterPayload, absl::Cord(absl::StrCat(retry_after_ms)));
    return s;
  }
  if (code == 401) return absl::UnauthenticatedError(msg);
  if (code == 403) return absl::PermissionDeniedError(msg);
  if (code == 408) return absl::DeadlineExceededError(msg);
  if (code >= 500) return absl::UnavailableError(msg);
  return absl::InvalidArgumentError(msg);
}

}  // namespace

OpenAiBackend::OpenAiBackend(OpenAiOptions options) : options_(std::move(options)) {
  GlobalInit();
  while (absl::EndsWith(options_.base_url, "/")) options_.base_url.pop_back();
}

std::string OpenAiBackend::RequestBody(const RenderedPrompt& prompt) const {
  return Body(prompt,
              options_.json_schema && !json_schema_rejected_.load() && !prompt.response_schema.empty());
}

std::string OpenAiBackend::Body(const RenderedPrompt& prompt, bool with_schema) const {
  using Json = nlohmann::ordered_json;
  Json messages = Json::array();
  if (!prompt.system.empty()) messages.push_back({{"role", "system"}, {"content", prompt.system}});
  messages.push_back({{"role", "user"}, {"content", prompt.user}});
  Json body = {{"model", options_.model},
               {"messages", std::move(messages)},
               {"temperature", options_.temperature},
               {"max_tokens", options_.max_tokens}};
  // The schema is our own JSON document (json_schema.h); one that does not parse is sent as json_object.
  Json schema =
      with_schema ? Json::parse(prompt.response_schema, nullptr, /*allow_exceptions=*/false) : Json(nullptr);
  if (with_schema && !schema.is_discarded()) {
    body["response_format"] = {
        {"type", "json_schema"},
        {"json_schema",
         {{"name", prompt.response_schema_name.empty() ? "output" : prompt.response_schema_name},
          {"strict", true},
          {"schema", std::move(schema)}}}};
  } else if (options_.json_mode || with_schema) {
    body["response_format"] = {{"type", "json_object"}};
  }
  // Text from reviews may hold invalid UTF-8: replaced, never fatal.
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<LlmResponse> ParseChatCompletion(const std::string& body) {
  google::protobuf::Struct s;
  if (!google::protobuf::util::JsonStringToMessage(body, &s).ok()) {
    return absl::InternalError(
        absl::StrCat("the LLM endpoint answered with something that is not JSON: ", body.substr(0, 200)));
  }
  LlmResponse r;
  const auto& f = s.fields();
  auto choices = f.find("choices");
  if (choices == f.end() || choices->second.list_value().values_size() == 0) {
    return absl::InternalError("the LLM answer has no choices");
  }
  const auto& choice = choices->second.list_value().values(0).struct_value().fields();
  auto message = choice.find("message");
  if (message == choice.end()) return absl::InternalError("the LLM answer has no message");
  auto content = message->second.struct_value().fields().find("content");
  if (content == message->second.struct_value().fields().end() ||
      content->second.kind_case() != google::protobuf::Value::kStringValue) {
    return absl::InternalError("the LLM answer has no text content");
  }
  r.content = content->second.string_value();
  if (auto usage = f.find("usage"); usage != f.end()) {
    const auto& u = usage->second.struct_value().fields();
    if (auto p = u.find("prompt_tokens"); p != u.end())
      r.prompt_tokens = static_cast<int64_t>(p->second.number_value());
    if (auto c = u.find("completion_tokens"); c != u.end()) {
      r.completion_tokens = static_cast<int64_t>(c->second.number_value());
    }
  }
  if (auto m = f.find("model"); m != f.end()) r.model = m->second.string_value();
  if (auto fr = choice.find("finish_reason");
      fr != choice.end() && fr->second.kind_case() == google::protobuf::Value::kStringValue) {
    r.finish_reason = fr->second.string_value();
  }
  return r;
}

absl::StatusOr<LlmResponse> OpenAiBackend::Complete(const RenderedPrompt& prompt, absl::Time deadline) {
  const bool with_schema =
      options_.json_schema && !json_schema_rejected_.load() && !prompt.response_schema.empty();
  absl::StatusOr<LlmResponse> r = Post(Body(prompt, with_schema), deadline);
  if (with_schema && absl::IsInvalidArgument(r.status()) &&
      (absl::StrContains(r.status().message(), "response_format") ||
       absl::StrContains(r.status().message(), "json_schema"))) {
    // An older server (or one without grammar support) that knows only json_object: ask again that way.
    json_schema_rejected_ = true;
    logging::Warn("the LLM endpoint rejected response_format json_schema; using json_object",
                  {{"error", r.status()}});
    r = Post(Body(prompt, false), deadline);
  }
  return r;
}

absl::StatusOr<LlmResponse> OpenAiBackend::Post(const std::string& body, absl::Time deadline) {
  const absl::Duration left = std::min(options_.timeout, deadline - absl::Now());
  if (left <= absl::Milliseconds(1)) return absl::DeadlineExceededError("no time left for the LLM call");
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  const std::string url = options_.base_url + "/chat/completions";
  std::string response;
  Headers headers;
  curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
  list = curl_slist_append(list, "Accept: application/json");
  std::string auth;
  if (!options_.api_key.empty()) {
    auth = "Authorization: Bearer " + options_.api_key;
    list = curl_slist_append(list, auth.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ReadHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(left)));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(std::min(left, options_.connect_timeout))));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "marketlens-analyzer/1");
  if (options_.cancel != nullptr) {
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, AbortWhenCancelled);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(options_.cancel));
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  }
  const CURLcode rc = curl_easy_perform(curl);
  long http = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(absl::StrCat("LLM call timed out after ", absl::FormatDuration(left)));
  }
  if (rc == CURLE_ABORTED_BY_CALLBACK) return absl::CancelledError("LLM call abandoned: stopping");
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("LLM endpoint ", url, ": ", curl_easy_strerror(rc)));
  }
  if (http != 200) return HttpError(http, response, headers.retry_after_ms);
  return ParseChatCompletion(response);
}

}  // namespace marketlens::analyzer::llm
