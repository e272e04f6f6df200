#include "services/analyzer/llm_review/fake_review_model.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace marketlens::analyzer::llm_review {
namespace {

std::vector<std::string> Sentences(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    cur.push_back(text[i]);
    if ((text[i] == '.' || text[i] == '!' || text[i] == '?') &&
        (i + 1 == text.size() || text[i + 1] == ' ')) {
      std::string s(absl::StripAsciiWhitespace(cur));
      if (!s.empty()) out.push_back(s);
      cur.clear();
    }
  }
  std::string s(absl::StripAsciiWhitespace(cur));
  if (!s.empty()) out.push_back(s);
  return out;
}

}  // namespace

FakeReviewModel::FakeReviewModel(FakeModelBehaviour behaviour)
    : behaviour_(std::move(behaviour)), server_([this](const llm::HttpRequest& r) { return Handle(r); }) {}

void FakeReviewModel::set_behaviour(FakeModelBehaviour behaviour) {
  absl::MutexLock lock(&mu_);
  behaviour_ = std::move(behaviour);
  seen_ = 0;
}

std::vector<std::string> FakeReviewModel::ReviewLines(const std::string& user) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(user, '\n')) {
    if (absl::StartsWith(line, "{\"id\":\"r")) out.emplace_back(line);
  }
  return out;
}

std::string FakeReviewModel::Answer(const std::string& user, const FakeModelBehaviour& b) {
  using Json = nlohmann::ordered_json;
  Json items = Json::array();
  for (const std::string& line : ReviewLines(user)) {
    google::protobuf::Struct review;
    if (!google::protobuf::util::JsonStringToMessage(line, &review).ok()) continue;
    const auto& f = review.fields();
    const std::string id = f.at("id").string_value();
    const std::string text = f.at("text").string_value();
    const int rating = static_cast<int>(f.at("rating").number_value());
    if (b.omit_ids.count(id)) continue;
    if (b.ignore_schema) {
      items.push_back({{"review", id},
                       {"verdict", rating >= 4 ? "good" : "bad"},
                       {"notes", "The customer has opinions."}});
      continue;
    }
    const double sentiment = (rating - 3) / 2.0;
    Json issues = Json::array(), features = Json::array(), concerns = Json::array();
    for (const std::string& s : Sentences(text)) {
      const std::string lower = absl::AsciiStrToLower(s);
      for (const char* feature : {"battery", "screen", "sound", "strap", "price", "size", "charger", "fit"}) {
        if (absl::StrContains(lower, feature)) {
          features.push_back({{"feature", feature},
                              {"polarity", rating >= 4 ? 0.8 : -0.8},
                              {"quote", b.made_up_ids.count(id) ? "It is the best thing ever made." : s}});
          break;
        }
      }
      if (absl::StrContains(lower, "broke") || absl::StrContains(lower, "stopped working")) {
        issues.push_back({{"category", "defective"}, {"sentence", s}});
        concerns.push_back({{"concern", "defects"}, {"detail", "stops working"}, {"quote", s}});
      }
    }
    if (b.made_up_ids.count(id) && features.empty()) {
      features.push_back(
          {{"feature", "design"}, {"polarity", 0.9}, {"quote", "It is the best thing ever made."}});
    }
    const std::string label = b.off_schema_ids.count(id) ? "furious"
                              : sentiment >= 0.2         ? "positive"
                              : sentiment <= -0.2        ? "negative"
                                                         : "neutral";
    items.push_back({{"id", id},
                     {"sentiment", sentiment},
                     {"label", label},
                     {"issues", issues},
                     {"feature_feedback", features},
                     {"quality_concerns", concerns}});
  }
  auto dump = [](const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); };
  if (b.ignore_schema) {
    return absl::StrCat("Here is my analysis of the reviews:\n", dump(Json{{"analysis", items}}));
  }
  return dump(Json{{"reviews", items}});
}

llm::HttpResponse FakeReviewModel::Handle(const llm::HttpRequest& req) {
  FakeModelBehaviour b;
  {
    absl::MutexLock lock(&mu_);
    b = behaviour_;
  }
  const int n = ++seen_;
  auto chat = llm::ParseChatRequest(req.body);
  llm::HttpResponse r;
  if (!chat.ok()) {
    r.status = 400;
    r.body = R"({"error":{"message":"invalid request body"}})";
    return r;
  }
  if (n <= b.rate_limited_first) {
    r.status = 429;
    r.headers = {{"Retry-After", absl::StrCat(b.retry_after_seconds)}};
    r.body = R"({"error":{"message":"Rate limit reached for requests","type":"requests"}})";
    return r;
  }
  if (n <= b.rate_limited_first + b.loading_first) {
    r.status = 503;
    r.body = R"({"error":{"code":503,"message":"Loading model","type":"unavailable_error"}})";
    return r;
  }
  if (b.reject_json_schema && chat->response_format == "json_schema") {
    r.status = 400;
    r.body =
        R"({"error":{"message":"response_format.type 'json_schema' is not supported","type":"invalid_request_error"}})";
    return r;
  }
  std::string content = Answer(chat->user, b);
  std::string finish = "stop";
  if (chat->max_tokens > 0 && content.size() > static_cast<size_t>(chat->max_tokens) * 4) {
    content.resize(static_cast<size_t>(chat->max_tokens) * 4);
    finish = "length";
  }
  const int prompt_tokens = b.report_usage ? static_cast<int>(req.body.size() / 4) : -1;
  const int completion_tokens = b.report_usage ? static_cast<int>(content.size() / 4) : -1;
  r = llm::ChatCompletion(content, prompt_tokens, completion_tokens, finish);
  r.delay = b.delay;
  return r;
}

}  // namespace marketlens::analyzer::llm_review
