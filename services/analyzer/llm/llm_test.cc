// The openai backend against a real HTTP server started by the test, answering as the API would, and as it
// does on bad days: malformed JSON, answers that miss the schema, 429 with Retry-After, 500s, hangs. Plus
// the circuit breaker, the Redis cache, prompt templates and schema validation.
#include <atomic>
#include <memory>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/redis/cache.h"
#include "common/redis/client.h"
#include "common/testing/redis_fixture.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/analyzer/analyzer_metrics.h"
#include "services/analyzer/llm/circuit_breaker.h"
#include "services/analyzer/llm/fake_llm_server.h"
#include "services/analyzer/llm/json_schema.h"
#include "services/analyzer/llm/local_backend.h"
#include "services/analyzer/llm/openai_backend.h"
#include "services/analyzer/llm/prompts.h"
#include "services/analyzer/llm/structured_llm.h"

namespace marketlens::analyzer::llm {
namespace {

using ::marketlens::testing::IsOk;

constexpr char kGoodSummary[] =
    R"({"summary":"Anna called twice about a late parcel.","key_topics":["delivery"],"sentiment":"negative","cited_ids":["c1"]})";

RenderedPrompt Prompt(const std::string& user = "Summarise [c1] late parcel") {
  return {"summarize_interactions.v1", "You summarise.", user};
}

class LlmTest : public ::testing::Test {
 protected:
  std::unique_ptr<StructuredLlm> Make(FakeLlmServer& server, redis::Cache* cache = nullptr,
                                      StructuredLlmOptions options = {}) {
    OpenAiOptions o;
    o.base_url = server.base_url();
    o.model = "fake-model";
    o.api_key = "sk-test";
    o.timeout = absl::Seconds(2);
    options.backoff.initial = absl::Milliseconds(10);
    options.backoff.max = absl::Milliseconds(50);
    return std::make_unique<StructuredLlm>(std::make_unique<OpenAiBackend>(o), cache, options, &metrics_);
  }
  AnalyzerMetrics metrics_{std::make_shared<prometheus::Registry>()};
};

TEST_F(LlmTest, ValidAnswerAndTheRequestItSent) {
  FakeLlmServer server([](const HttpRequest&) { return ChatCompletion(kGoodSummary); });
  auto llm = Make(server);
  auto r = llm->Call(Prompt(), SummarySchema(), absl::Now() + absl::Seconds(5));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(GetString(r->value, "sentiment"), "negative");
  EXPECT_EQ(GetStrings(r->value, "cited_ids"), std::vector<std::string>{"c1"});
  EXPECT_EQ(r->model, "fake-model");
  ASSERT_EQ(server.requests(), 1);
  const HttpRequest req = server.recorded()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/v1/chat/completions");
  EXPECT_EQ(req.headers.at("authorization"), "Bearer sk-test");
  EXPECT_TRUE(absl::StrContains(req.body, R"("model":"fake-model")"));
  EXPECT_TRUE(absl::StrContains(req.body, R"("role":"user","content":"Summarise [c1] late parcel")"));
  EXPECT_TRUE(absl::StrContains(req.body, R"("response_format":{"type":"json_object"})"));
  // Metrics: the call, the tokens the server reported, the latency.
  EXPECT_EQ(metrics_.llm_calls("openai", "ok").Value(), 1);
  EXPECT_EQ(metrics_.llm_tokens("openai", "prompt").Value(), 12);
  EXPECT_EQ(metrics_.llm_tokens("openai", "completion").Value(), 34);
  EXPECT_EQ(metrics_.llm_latency("openai").Collect().histogram.sample_count, 1u);
}

TEST_F(LlmTest, MalformedJsonIsRetriedThenGivenUp) {
  std::atomic<int> n{0};
  FakeLlmServer server([&](const HttpRequest&) {
    return ++n == 1 ? ChatCompletion("Sure! {\"summary\": \"oops\", ")
                    : ChatCompletion(std::string("```json\n") + kGoodSummary + "\n```");
  });
  auto llm = Make(server);
  auto r = llm->Call(Prompt(), SummarySchema(), absl::Now() + absl::Seconds(5));
  ASSERT_THAT(r, IsOk());  // the fenced answer on the second try is accepted
  EXPECT_EQ(r->attempts, 2);

  // Always invalid (schema): one retry, then INVALID_ARGUMENT naming the field.
  server.set_handler([](const HttpRequest&) {
    return ChatCompletion(R"({"summary":"x","key_topics":[],"sentiment":"furious","cited_ids":[]})");
  });
  auto bad = llm->Call(Prompt("other"), SummarySchema(), absl::Now() + absl::Seconds(5));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "SummaryOutput.sentiment")) << bad.status();
  EXPECT_EQ(server.requests(), 4);
  // Not the API's shape at all (HTTP 200 with garbage): an error, not a crash.
  server.set_handler([](const HttpRequest&) {
    HttpResponse r;
    r.body = "<html>gateway</html>";
    return r;
  });
  EXPECT_EQ(llm->Call(Prompt("third"), SummarySchema(), absl::Now() + absl::Seconds(5)).status().code(),
            absl::StatusCode::kInternal);
}

TEST_F(LlmTest, AnswerCutAtMaxTokensIsOutOfRangeAndNotAskedAgain) {
  FakeLlmServer server([](const HttpRequest&) {
    return ChatCompletion(R"({"summary":"Anna called twice about a la)", 12, 400, "length");
  });
  auto llm = Make(server);
  auto r = llm->Call(Prompt(), SummarySchema(), absl::Now() + absl::Seconds(5));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange) << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "finish_reason")) << r.status();
  EXPECT_EQ(server.requests(), 1);  // the same question would be cut the same way
  EXPECT_EQ(metrics_.llm_calls("openai", "truncated").Value(), 1);
  // A complete answer that merely reached the limit is used.
  server.set_handler([](const HttpRequest&) { return ChatCompletion(kGoodSummary, 12, 34, "length"); });
  EXPECT_THAT(llm->Call(Prompt("b"), SummarySchema(), absl::Now() + absl::Seconds(5)), IsOk());
  auto parsed = ParseChatCompletion(ChatCompletion("{}", -1, -1, "length").body);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->finish_reason, "length");
  EXPECT_EQ(parsed->prompt_tokens, 0);  // no usage reported
}

TEST_F(LlmTest, JsonSchemaResponseFormatAndTheFallbackToJsonObject) {
  std::atomic<int> n{0};
  FakeLlmServer server([&](const HttpRequest& req) {
    auto chat = ParseChatRequest(req.body);
    if (++n == 1) {
      EXPECT_EQ(chat->response_format, "json_schema");
      EXPECT_EQ(chat->schema_name, "SummaryOutput");
      EXPECT_TRUE(absl::StrContains(chat->schema, R"("enum":["negative","neutral","positive"])"))
          << chat->schema;
      HttpResponse r;
      r.status = 400;
      r.body = R"({"error":{"message":"Unrecognized response_format type: json_schema"}})";
      return r;
    }
    EXPECT_EQ(chat->response_format, "json_object");
    return ChatCompletion(kGoodSummary);
  });
  OpenAiOptions o;
  o.base_url = server.base_url();
  o.json_schema = true;
  auto backend = std::make_unique<OpenAiBackend>(o);
  OpenAiBackend* raw = backend.get();
  StructuredLlm llm(std::move(backend), nullptr, {}, &metrics_);
  RenderedPrompt p = Prompt();
  p.response_schema = ToJsonSchema(SummarySchema());
  p.response_schema_name = "SummaryOutput";
  EXPECT_THAT(llm.Call(p, SummarySchema(), absl::Now() + absl::Seconds(5)), IsOk());
  EXPECT_TRUE(raw->json_schema_rejected());
  EXPECT_EQ(server.requests(), 2);
  EXPECT_TRUE(absl::StrContains(raw->RequestBody(p), R"("response_format":{"type":"json_object"})"));
  // The schema document: every field required, nothing else allowed, valid JSON.
  EXPECT_THAT(ParseJsonObject(ToJsonSchema(AnalyzeReviewSchema())), IsOk());
  EXPECT_TRUE(absl::StrContains(
      ToJsonSchema(SummarySchema()),
      R"("required":["summary","key_topics","sentiment","cited_ids"],"additionalProperties":false)"))
      << ToJsonSchema(SummarySchema());
}

TEST_F(LlmTest, RateLimitHonoursRetryAfter) {
  std::atomic<int> n{0};
  FakeLlmServer server([&](const HttpRequest&) {
    if (++n == 1) {
      HttpResponse r;
      r.status = 429;
      r.headers = {{"Retry-After", "1"}};
      r.body = R"({"error":{"message":"Rate limit reached"}})";
      return r;
    }
    return ChatCompletion(kGoodSummary);
  });
  auto llm = Make(server);
  const absl::Time start = absl::Now();
  auto r = llm->Call(Prompt(), SummarySchema(), absl::Now() + absl::Seconds(5));
  ASSERT_THAT(r, IsOk());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(950));  // waited as told, not the 10 ms backoff
  EXPECT_EQ(server.requests(), 2);
  // A Retry-After beyond the deadline: give up at once instead of sleeping past it.
  n = 0;
  server.set_handler([&](const HttpRequest&) {
    HttpResponse r;
    r.status = 429;
    r.headers = {{"Retry-After", "20"}};
    return r;
  });
  const absl::Time t0 = absl::Now();
  auto limited = llm->Call(Prompt("x"), SummarySchema(), absl::Now() + absl::Seconds(2));
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - t0, absl::Seconds(1));
}

TEST_F(LlmTest, ServerErrorsAreRetriedWithBackoff) {
  std::atomic<int> n{0};
  FakeLlmServer server([&](const HttpRequest&) {
    if (++n <= 2) {
      HttpResponse r;
      r.status = 500;
      r.body = "internal";
      return r;
    }
    return ChatCompletion(kGoodSummary);
  });
  auto llm = Make(server);
  auto r = llm->Call(Prompt(), SummarySchema(), absl::Now() + absl::Seconds(5));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->attempts, 3);
  // 401 is not retried.
  server.set_handler([](const HttpRequest&) {
    HttpResponse r;
    r.status = 401;
    return r;
  });
  EXPECT_EQ(llm->Call(Prompt("y"), SummarySchema(), absl::Now() + absl::Seconds(5)).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(server.requests(), 4);
}

TEST_F(LlmTest, HangingServerHitsTheDeadline) {
  FakeLlmServer server([](const HttpRequest&) {
    HttpResponse r = ChatCompletion(kGoodSummary);
    r.delay = absl::Seconds(5);
    return r;
  });
  auto llm = Make(server);
  const absl::Time start = absl::Now();
  auto r = llm->Call(Prompt(), SummarySchema(), absl::Now() + absl::Milliseconds(600));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
}

TEST_F(LlmTest, CircuitOpensAfterRepeatedFailuresAndRecovers) {
  FakeLlmServer server([](const HttpRequest&) {
    HttpResponse r;
    r.status = 503;
    return r;
  });
  StructuredLlmOptions options;
  options.breaker_threshold = 3;
  options.breaker_open_for = absl::Milliseconds(300);
  options.backoff.max_attempts = 1;  // one call per Call(), to count precisely
  auto llm = Make(server, nullptr, options);
  for (int i = 0; i < 3; ++i)
    EXPECT_FALSE(llm->Call(Prompt(), SummarySchema(), absl::Now() + absl::Seconds(2)).ok());
  EXPECT_EQ(llm->breaker().state(), CircuitBreaker::State::kOpen);
  auto fast = llm->Call(Prompt(), SummarySchema(), absl::Now() + absl::Seconds(2));
  EXPECT_EQ(fast.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(fast.status().message(), "circuit open"));
  EXPECT_EQ(server.requests(), 3);  // the open circuit sent nothing
  // After open_for, one probe; the server is back, so the circuit closes.
  server.set_handler([](const HttpRequest&) { return ChatCompletion(kGoodSummary); });
  absl::SleepFor(absl::Milliseconds(350));
  EXPECT_THAT(llm->Call(Prompt(), SummarySchema(), absl::Now() + absl::Seconds(2)), IsOk());
  EXPECT_EQ(llm->breaker().state(), CircuitBreaker::State::kClosed);
}

TEST_F(LlmTest, ConnectionRefusedIsUnavailable) {
  int port;
  {
    FakeLlmServer gone([](const HttpRequest&) { return ChatCompletion(kGoodSummary); });
    port = gone.port();
  }
  OpenAiOptions o;
  o.base_url = absl::StrCat("http://127.0.0.1:", port, "/v1");
  OpenAiBackend backend(o);
  EXPECT_EQ(backend.Complete(Prompt(), absl::Now() + absl::Seconds(2)).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(LlmTest, RedisCacheAnswersRepeatedPrompts) {
  auto redis_server = marketlens::testing::RedisServer::Create();
  ASSERT_THAT(redis_server, IsOk());
  redis::RedisOptions ro;
  ro.port = (*redis_server)->port();
  redis::RedisClient client(ro);
  redis::Cache cache(&client, {.prefix = "analyzer:llm:"});
  FakeLlmServer server([](const HttpRequest&) { return ChatCompletion(kGoodSummary); });
  auto llm = Make(server, &cache);
  ASSERT_THAT(llm->Call(Prompt(), SummarySchema(), absl::Now() + absl::Seconds(5)), IsOk());
  auto again = llm->Call(Prompt(), SummarySchema(), absl::Now() + absl::Seconds(5));
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->cached);
  EXPECT_EQ(server.requests(), 1);
  // The key is a hash of (prompt version, model, input): another version, model or input is another key.
  RenderedPrompt v2 = Prompt();
  v2.id = "summarize_interactions.v2";
  EXPECT_NE(llm->CacheKey(v2), llm->CacheKey(Prompt()));
  EXPECT_NE(llm->CacheKey(Prompt("Summarise [c2] lost parcel")), llm->CacheKey(Prompt()));
  OpenAiOptions other_model;
  other_model.base_url = server.base_url();
  other_model.model = "other-model";
  StructuredLlm other(std::make_unique<OpenAiBackend>(other_model), &cache, {}, &metrics_);
  EXPECT_NE(other.CacheKey(Prompt()), llm->CacheKey(Prompt()));
  EXPECT_EQ(llm->CacheKey(Prompt()).size(), 64u);  // SHA-256, hex
  ASSERT_THAT(llm->Call(v2, SummarySchema(), absl::Now() + absl::Seconds(5)), IsOk());
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(metrics_.llm_calls("openai", "cached").Value(), 1);
  // Redis down: calls still work (uncached).
  ASSERT_THAT((*redis_server)->Stop(), IsOk());
  EXPECT_THAT(llm->Call(Prompt("fresh"), SummarySchema(), absl::Now() + absl::Seconds(5)), IsOk());
}

// Answers about one customer are cached under their scope, so a privacy erasure removes exactly those
// (docs/privacy.md).
TEST_F(LlmTest, CachedAnswersOfOneCustomerScopeAreInvalidatedTogether) {
  auto redis_server = marketlens::testing::RedisServer::Create();
  ASSERT_THAT(redis_server, IsOk());
  redis::RedisOptions ro;
  ro.port = (*redis_server)->port();
  redis::RedisClient client(ro);
  redis::Cache cache(&client, {.prefix = "analyzer:llm:"});
  FakeLlmServer server([](const HttpRequest&) { return ChatCompletion(kGoodSummary); });
  auto llm = Make(server, &cache);
  RenderedPrompt mine = Prompt("Summarise [c1] late parcel");
  mine.cache_scope = "customer/aaaa/";
  RenderedPrompt mine_too = Prompt("Write to [c1] about the parcel");
  mine_too.cache_scope = "customer/aaaa/";
  RenderedPrompt theirs = Prompt("Summarise [c2] lost parcel");
  theirs.cache_scope = "customer/bbbb/";
  for (const RenderedPrompt* p : {&mine, &mine_too, &theirs}) {
    ASSERT_THAT(llm->Call(*p, SummarySchema(), absl::Now() + absl::Seconds(5)), IsOk());
  }
  EXPECT_EQ(llm->CacheKey(mine).rfind("customer/aaaa/", 0), 0u);
  EXPECT_EQ(llm->InvalidateScope("customer/aaaa/"), 2);
  EXPECT_EQ(llm->InvalidateScope("customer/aaaa/"), 0);
  EXPECT_FALSE(llm->Call(mine, SummarySchema(), absl::Now() + absl::Seconds(5))->cached);
  EXPECT_TRUE(llm->Call(theirs, SummarySchema(), absl::Now() + absl::Seconds(5))->cached);
}

// The local engine is one more LlmBackend: StructuredLlm validates its answers like any other's.
struct NotesContext : PromptContext {
  std::string summary;
  std::vector<std::string> ids;
};

TEST_F(LlmTest, LocalBackendAnswersFromThePromptContext) {
  auto backend = std::make_unique<LocalBackend>("local-test");
  backend->Register("summarize_interactions",
                    [](const RenderedPrompt& p) -> absl::StatusOr<google::protobuf::Struct> {
                      const auto* c = dynamic_cast<const NotesContext*>(p.context.get());
                      if (c == nullptr) return absl::InvalidArgumentError("wrong context");
                      google::protobuf::Struct out;
                      SetString(&out, "summary", c->summary);
                      SetStrings(&out, "key_topics", {"delivery"});
                      SetString(&out, "sentiment", c->summary.empty() ? "neutral-ish" : "negative");
                      SetStrings(&out, "cited_ids", c->ids);
                      return out;
                    });
  StructuredLlmOptions o;
  o.backoff.max_attempts = 1;
  o.invalid_output_retries = 0;
  StructuredLlm llm(std::move(backend), nullptr, o, &metrics_);
  EXPECT_EQ(llm.backend_name(), "local");
  RenderedPrompt prompt = Prompt();
  auto context = std::make_shared<NotesContext>();
  context->summary = "Anna called twice about a late parcel.";
  context->ids = {"contact:c1"};
  prompt.context = context;
  auto r = llm.Call(prompt, SummarySchema(), absl::Now() + absl::Seconds(1));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->backend, "local");
  EXPECT_EQ(r->model, "local-test");
  EXPECT_EQ(GetString(r->value, "summary"), "Anna called twice about a late parcel.");
  EXPECT_EQ(GetStrings(r->value, "cited_ids"), std::vector<std::string>{"contact:c1"});
  // Its answers are checked against the schema too.
  auto bad = std::make_shared<NotesContext>();
  prompt.context = bad;
  EXPECT_EQ(llm.Call(prompt, SummarySchema(), absl::Now() + absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  // No context, or a prompt it has no writer for: clear errors, not retried.
  prompt.context = nullptr;
  EXPECT_EQ(llm.Call(prompt, SummarySchema(), absl::Now() + absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  RenderedPrompt other{"generate_brief.v1", "s", "u", context};
  EXPECT_EQ(llm.Call(other, BriefSchema(), absl::Now() + absl::Seconds(1)).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST(PromptsTest, EmbeddedTemplatesRender) {
  auto lib = PromptLibrary::Embedded();
  ASSERT_THAT(lib, IsOk());
  for (const char* name :
       {"analyze_review", "summarize_interactions", "generate_content", "generate_brief"}) {
    EXPECT_THAT(lib->Get(name), IsOk()) << name;
  }
  auto t = lib->Get("summarize_interactions");
  auto r = (*t)->Render({{"customer", "Anna (c-1)"}, {"facts", "[x1] call about a parcel"}});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->id, "summarize_interactions.v1");
  EXPECT_TRUE(absl::StrContains(r->user, "Anna (c-1)"));
  EXPECT_FALSE(absl::StrContains(r->user, "{{"));
  EXPECT_EQ((*t)->Render({{"customer", "x"}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(PromptTemplate::Parse("noversion.txt", "=== user\nx").ok());
  PromptLibrary custom;
  (void)custom.Add(*PromptTemplate::Parse("p.v1.txt", "=== user\none"));
  (void)custom.Add(*PromptTemplate::Parse("p.v10.txt", "=== user\nten"));
  (void)custom.Add(*PromptTemplate::Parse("p.v2.txt", "=== user\ntwo"));
  EXPECT_EQ((*custom.Get("p"))->version(), "v10");
}

TEST(SchemaTest, ValidationNamesTheViolation) {
  auto ok = ParseJsonObject(
      R"({"sentiment":0.5,"label":"positive","aspects":[{"aspect":"battery","polarity":0.9,"quote":"q"}],"issues":[]})");
  ASSERT_THAT(ok, IsOk());
  EXPECT_THAT(Validate(*ok, AnalyzeReviewSchema()), IsOk());
  auto out_of_range = ParseJsonObject(R"({"sentiment":3,"label":"positive","aspects":[],"issues":[]})");
  EXPECT_TRUE(
      absl::StrContains(Validate(*out_of_range, AnalyzeReviewSchema()).message(), "sentiment: must be in"));
  auto bad_issue = ParseJsonObject(
      R"({"sentiment":0,"label":"neutral","aspects":[],"issues":[{"category":"alien","sentence":"s"}]})");
  EXPECT_TRUE(absl::StrContains(Validate(*bad_issue, AnalyzeReviewSchema()).message(), "issues[0].category"));
  auto missing = ParseJsonObject(R"({"subject":"hi"})");
  EXPECT_TRUE(absl::StrContains(Validate(*missing, EmailSchema()).message(), "EmailOutput.body: missing"));
  EXPECT_FALSE(ParseJsonObject("no json here").ok());
}

}  // namespace
}  // namespace marketlens::analyzer::llm
