// AnalyzeText through the LlmBackend interface. The local backend's answer is the engine's full analysis
// (it goes through StructuredLlm like any answer: JSON, schema, metrics). With the openai backend (a real
// HTTP server started by the test), a grounded answer is used; an answer quoting text the review lacks,
// malformed JSON, 500s, 429s, a hang, or an open circuit all end with the local backend answering, counted
// as a fallback. Which backend answers is configuration (or the request's `backend`), nothing else.
#include "services/analyzer/text_analyzer.h"

#include <atomic>
#include <memory>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/analyzer/llm/fake_llm_server.h"
#include "services/analyzer/llm/openai_backend.h"

namespace marketlens::analyzer {
namespace {

using ::marketlens::testing::IsOk;

constexpr char kGrounded[] =
    R"({"sentiment":-0.8,"label":"negative","aspects":[{"aspect":"hinge","polarity":-0.9,"quote":"The hinge cracked."}],"issues":[{"category":"durability","sentence":"The hinge cracked."}]})";

class TextAnalyzerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto e = Engine::Create();
    ASSERT_THAT(e, IsOk());
    engine_ = e->release();
  }
  static void TearDownTestSuite() { delete engine_; }

  std::unique_ptr<llm::StructuredLlm> OpenAi(llm::FakeLlmServer& server, llm::StructuredLlmOptions so = {}) {
    llm::OpenAiOptions o;
    o.base_url = server.base_url();
    o.model = "fake-model";
    o.timeout = absl::Seconds(2);
    so.backoff.initial = absl::Milliseconds(5);
    so.backoff.max = absl::Milliseconds(20);
    so.backoff.max_attempts = 2;
    return std::make_unique<llm::StructuredLlm>(std::make_unique<llm::OpenAiBackend>(o), nullptr, so,
                                                &metrics_);
  }
  double Fallbacks(const std::string& reason) { return metrics_.llm_fallbacks(reason).Value(); }
  double Calls(const std::string& backend, const std::string& outcome) {
    return metrics_.llm_calls(backend, outcome).Value();
  }
  static v1::AnalyzeTextRequest Request(const std::string& text, int rating = 0,
                                        const std::string& backend = "") {
    v1::AnalyzeTextRequest req;
    req.set_text(text);
    req.set_rating(rating);
    req.set_backend(backend);
    req.set_category("Electronics");
    return req;
  }
  static absl::Time Soon() { return absl::Now() + absl::Seconds(5); }

  static Engine* engine_;
  AnalyzerMetrics metrics_{std::make_shared<prometheus::Registry>()};
};
Engine* TextAnalyzerTest::engine_ = nullptr;

TEST_F(TextAnalyzerTest, LocalBackendAnswersWithTheEngineFullAnalysis) {
  TextAnalyzer text(engine_, nullptr, nullptr, &metrics_);
  const std::string review =
      "The battery is great but the strap snapped after a week. VISIT www.example.com FOR DEALS NOW";
  v1::TextAnalysis out;
  ASSERT_THAT(text.Analyze(Request(review, 5), Soon(), &out), IsOk());
  EXPECT_EQ(out.backend(), "local");
  EXPECT_EQ(Calls("local", "ok"), 1);  // through StructuredLlm, like any backend

  // The same as the engine's own analysis, field by field.
  const Analysis a = engine_->Analyze({.text = review, .category = "Electronics", .rating = 5});
  EXPECT_DOUBLE_EQ(out.sentiment(), a.sentiment);
  EXPECT_EQ(out.label(), a.label);
  EXPECT_DOUBLE_EQ(out.rule_score(), a.rule_score);
  EXPECT_EQ(out.model_version(), engine_->version());
  ASSERT_EQ(out.aspects_size(), static_cast<int>(a.aspects.size()));
  EXPECT_EQ(out.aspects(0).aspect(), "battery");
  EXPECT_EQ(out.aspects(0).quote(), a.aspects[0].quote);
  ASSERT_EQ(out.issues_size(), static_cast<int>(a.issues.size()));
  EXPECT_EQ(out.issues(0).category(), "durability");
  EXPECT_EQ(out.issues(0).sentence(), "The battery is great but the strap snapped after a week.");
  ASSERT_EQ(out.quality_size(), static_cast<int>(a.quality_flags.size()));
  ASSERT_EQ(out.quality_flags_size(), out.quality_size());
  bool url = false;
  for (const auto& q : out.quality()) {
    if (q.flag() == "contains_url") {
      url = true;
      EXPECT_EQ(q.sentence(), "VISIT www.example.com FOR DEALS NOW");
    }
  }
  EXPECT_TRUE(url);

  // Asking for openai when it is not configured.
  EXPECT_EQ(text.Analyze(Request("fine", 0, "openai"), Soon(), &out).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(TextAnalyzerTest, OpenAiAnswersWhenGroundedAndTheLocalEngineOtherwise) {
  llm::FakeLlmServer server([](const llm::HttpRequest&) { return llm::ChatCompletion(kGrounded); });
  auto openai = OpenAi(server);
  TextAnalyzer text(engine_, nullptr, openai.get(), &metrics_);

  v1::TextAnalysis out;
  ASSERT_THAT(text.Analyze(Request("Nice look. The hinge cracked.", 5), Soon(), &out), IsOk());
  EXPECT_EQ(out.backend(), "openai");
  EXPECT_EQ(out.model_version(), "fake-model/analyze_review.v1");
  EXPECT_EQ(out.issues(0).sentence(), "The hinge cracked.");
  // The prompt carried the review.
  EXPECT_TRUE(absl::StrContains(server.recorded()[0].body, "Nice look. The hinge cracked."));
  // A 5-star rating on an answer this negative: rating_mismatch, quoting the answer's most negative
  // sentence (the input checks find nothing else here).
  ASSERT_EQ(out.quality_size(), 1);
  EXPECT_EQ(out.quality(0).flag(), "rating_mismatch");
  EXPECT_EQ(out.quality(0).sentence(), "The hinge cracked.");
  EXPECT_EQ(out.quality_flags(0), "rating_mismatch");
  EXPECT_EQ(Fallbacks("ungrounded"), 0);

  // The same answer for a review that does not say so: its quotes are not the review's, so the local
  // engine answers.
  ASSERT_THAT(text.Analyze(Request("Lovely speaker, the sound is great."), Soon(), &out), IsOk());
  EXPECT_EQ(out.backend(), "local");
  EXPECT_EQ(out.label(), "positive");
  EXPECT_EQ(Fallbacks("ungrounded"), 1);

  // The request may pick the local backend: no HTTP call.
  const int before = server.requests();
  ASSERT_THAT(text.Analyze(Request("Nice look. The hinge cracked.", 0, "local"), Soon(), &out), IsOk());
  EXPECT_EQ(out.backend(), "local");
  EXPECT_EQ(server.requests(), before);
  EXPECT_EQ(out.model_version(), engine_->version());
}

// Every failure of the remote backend ends with the local engine's answer (never an error), counted.
TEST_F(TextAnalyzerTest, EveryRemoteFailureFallsBackToTheLocalEngine) {
  const std::string review = "The strap snapped after a week. Awful.";
  const Analysis local = engine_->Analyze({.text = review, .category = "Electronics"});
  std::atomic<int> mode{0};
  llm::FakeLlmServer server([&](const llm::HttpRequest&) {
    llm::HttpResponse r;
    switch (mode.load()) {
      case 0:  // malformed JSON, every time
        return llm::ChatCompletion("Sure! {\"sentiment\": -0.5, \"label\": ");
      case 1:  // valid JSON outside the schema
        return llm::ChatCompletion(R"({"sentiment":-3,"label":"angry","aspects":[],"issues":[]})");
      case 2:
        r.status = 500;
        r.body = "internal";
        return r;
      case 3:
        r.status = 429;
        r.headers = {{"Retry-After", "30"}};  // beyond the deadline: no waiting
        return r;
      default:  // a hang
        r = llm::ChatCompletion(kGrounded);
        r.delay = absl::Seconds(10);
        return r;
    }
  });
  llm::StructuredLlmOptions so;
  so.breaker_threshold = 1000;
  auto openai = OpenAi(server, so);
  TextAnalyzer text(engine_, nullptr, openai.get(), &metrics_);
  for (int m = 0; m < 5; ++m) {
    mode = m;
    v1::TextAnalysis out;
    const absl::Time start = absl::Now();
    const absl::Time deadline = start + absl::Milliseconds(m == 4 ? 800 : 3000);
    ASSERT_THAT(text.Analyze(Request(review), deadline, &out), IsOk()) << "mode " << m;
    EXPECT_EQ(out.backend(), "local") << "mode " << m;
    EXPECT_DOUBLE_EQ(out.sentiment(), local.sentiment) << "mode " << m;
    EXPECT_EQ(out.issues(0).category(), "durability") << "mode " << m;
    EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << "mode " << m;  // the hang is cut at the deadline
    EXPECT_EQ(Fallbacks("error"), m + 1) << "mode " << m;
  }
  EXPECT_GE(Calls("openai", "invalid_output"), 4);  // modes 0 and 1: asked again once, then given up
  EXPECT_GE(Calls("openai", "error"), 3);

  // Repeated failures open the circuit: the local engine answers without a call being sent.
  llm::StructuredLlmOptions tight;
  tight.breaker_threshold = 2;
  tight.breaker_open_for = absl::Seconds(30);
  auto fragile = OpenAi(server, tight);
  TextAnalyzer guarded(engine_, nullptr, fragile.get(), &metrics_);
  mode = 2;
  v1::TextAnalysis out;
  ASSERT_THAT(guarded.Analyze(Request(review), Soon(), &out), IsOk());  // two 500s: the circuit opens
  const int sent = server.requests();
  ASSERT_THAT(guarded.Analyze(Request(review), Soon(), &out), IsOk());
  EXPECT_EQ(out.backend(), "local");
  EXPECT_EQ(server.requests(), sent);
  EXPECT_GE(Calls("openai", "circuit_open"), 1);
}

TEST_F(TextAnalyzerTest, LocalAnswersPassTheSchemaForOddInput) {
  TextAnalyzer text(engine_, nullptr, nullptr, &metrics_);
  std::string huge;
  for (int i = 0; i < 20000; ++i) huge += "The battery, the screen, the strap and the hinge are great. ";
  std::string binary;
  for (int i = 0; i < 4096; ++i) binary.push_back(static_cast<char>((i * 7919) & 0xFF));
  for (const std::string& input : {std::string("."), std::string("ok"), huge, binary}) {
    v1::TextAnalysis out;
    ASSERT_THAT(text.Analyze(Request(input), Soon(), &out), IsOk()) << input.substr(0, 40);
    EXPECT_EQ(out.backend(), "local");
    EXPECT_GE(out.quality_size(), 1) << input.substr(0, 40);
  }
  EXPECT_EQ(Calls("local", "invalid_output"), 0);
}

}  // namespace
}  // namespace marketlens::analyzer
