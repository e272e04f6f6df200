// The LLM review mode's cost to the per-review pipeline (bench/llm_review_bench.sh): the pipeline's thread
// analyses each review with the local engine and, with --llm_review, hands the batch to the reviewer's
// Offer() (sampling + queueing; the LLM calls run on the reviewer's own thread). Measured on real Amazon
// reviews (../shared/data/amazon-5core, both files) and on the marketplace generator's reviews: reviews/s
// per core of engine + Offer against the engine alone in the same run, with the queue full (the steady
// state when the budget is spent: every Offer of a sampled review evicts the worst queued one).
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging/log.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/insights/store.h"
#include "services/analyzer/llm/openai_backend.h"
#include "services/analyzer/llm_review/llm_reviewer.h"
#include "services/marketplace/generator.h"

ABSL_FLAG(std::string, data_dir, "../shared/data", "the real public datasets (amazon-5core/)");
ABSL_FLAG(int, products, 300, "generated products (reviews scale with it)");
ABSL_FLAG(double, seconds, 3, "seconds per throughput measurement");
ABSL_FLAG(double, sample_rate, 0.05, "--llm_review_sample_rate");

namespace {

using namespace marketlens;  // NOLINT: benchmark main
using analyzer::Analysis;
using analyzer::ReviewRow;

std::vector<ReviewRow> AmazonReviews(const std::string& dir) {
  std::vector<ReviewRow> out;
  for (const char* file : {"Gift_Cards_5.json", "Magazine_Subscriptions_5.json"}) {
    std::ifstream in(absl::StrCat(dir, "/amazon-5core/", file));
    std::string line;
    while (std::getline(in, line)) {
      google::protobuf::Struct s;
      if (!google::protobuf::util::JsonStringToMessage(line, &s).ok()) continue;
      const auto& f = s.fields();
      ReviewRow r;
      r.id = absl::StrCat(file, ":", out.size());
      r.product_id = f.count("asin") ? f.at("asin").string_value() : "";
      r.title = f.count("summary") ? f.at("summary").string_value() : "";
      r.text = f.count("reviewText") ? f.at("reviewText").string_value() : "";
      r.rating = f.count("overall") ? static_cast<int>(f.at("overall").number_value()) : 0;
      r.created_at = absl::FromUnixSeconds(
          f.count("unixReviewTime") ? static_cast<int64_t>(f.at("unixReviewTime").number_value()) : 0);
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::vector<ReviewRow> GeneratedReviews() {
  marketplace::GeneratorOptions go;
  go.seed = 7;
  go.products = absl::GetFlag(FLAGS_products);
  auto world = marketplace::Generate(go);
  std::vector<ReviewRow> out;
  if (!world.ok()) return out;
  absl::flat_hash_map<std::string, std::string> category;
  for (const auto& p : world->data.products) category[p.id()] = p.category();
  for (const auto& r : world->data.reviews) {
    ReviewRow row;
    row.id = r.id();
    row.product_id = r.product_id();
    row.category = category[r.product_id()];
    row.title = r.title();
    row.text = r.text();
    row.rating = r.rating();
    row.created_at = absl::Now() - absl::Seconds(out.size());
    out.push_back(std::move(row));
  }
  return out;
}

// Reviews/s of the pipeline thread's per-review work: analyse a batch of 500 (as AnalyzeAndSave does),
// then `offer` it (or not).
template <typename Offer>
double Rate(const analyzer::Engine& engine, const std::vector<ReviewRow>& rows, double seconds, Offer offer) {
  size_t n = 0;
  const absl::Time start = absl::Now();
  const absl::Time until = start + absl::Seconds(seconds);
  std::vector<std::pair<ReviewRow, Analysis>> analysed;
  while (absl::Now() < until) {
    for (size_t i = 0; i < rows.size(); i += 500) {
      analysed.clear();
      for (size_t j = i; j < std::min(rows.size(), i + 500); ++j) {
        const ReviewRow& r = rows[j];
        analysed.emplace_back(
            r,
            engine.Analyze({.title = r.title, .text = r.text, .category = r.category, .rating = r.rating}));
      }
      offer(analysed);
    }
    n += rows.size();
  }
  return n / absl::ToDoubleSeconds(absl::Now() - start);
}

int Measure(const std::string& name, const std::vector<ReviewRow>& rows) {
  auto engine = analyzer::Engine::Create();
  auto prompts = analyzer::llm::PromptLibrary::Embedded();
  if (!engine.ok() || !prompts.ok() || rows.empty()) {
    std::printf("%s: nothing to measure\n", name.c_str());
    return 1;
  }
  analyzer::llm_review::ReviewInsightStore store(nullptr);  // Offer() does no I/O
  analyzer::llm_review::ReviewerOptions o;
  o.sampling.sample_rate = absl::GetFlag(FLAGS_sample_rate);
  auto reviewer = analyzer::llm_review::LlmReviewer::Create(
      [](const std::atomic<bool>*) {
        analyzer::llm::OpenAiOptions oo;
        oo.base_url = "http://127.0.0.1:9/v1";  // never called: the reviewer's thread is not started
        return std::make_unique<analyzer::llm::OpenAiBackend>(oo);
      },
      {}, &*prompts, &store, nullptr, engine->get(), o);
  if (!reviewer.ok()) return 1;
  // Fill the queue first (the steady state when the budget is spent).
  std::vector<std::pair<ReviewRow, Analysis>> all;
  int sampled = 0;
  for (const ReviewRow& r : rows) {
    Analysis a =
        (*engine)->Analyze({.title = r.title, .text = r.text, .category = r.category, .rating = r.rating});
    if (analyzer::llm_review::SamplePriority(r, a, o.sampling) >= 0) ++sampled;
    all.emplace_back(r, std::move(a));
  }
  for (int i = 0; (*reviewer)->queue().size() < o.queue_capacity && i < 50; ++i) {
    for (auto& [r, a] : all) r.id = absl::StrCat(r.id, "+");
    (*reviewer)->Offer(all);
  }
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const double without = Rate(**engine, rows, seconds, [](const auto&) {});
  const double with = Rate(**engine, rows, seconds, [&](const auto& batch) { (*reviewer)->Offer(batch); });
  std::printf("%s: %zu reviews, %.1f%% sampled for the LLM (sample_rate %.2f), queue %zu/%zu\n", name.c_str(),
              rows.size(), 100.0 * sampled / rows.size(), o.sampling.sample_rate, (*reviewer)->queue().size(),
              o.queue_capacity);
  std::printf("  local engine alone            %10.0f reviews/s per core\n", without);
  std::printf(
      "  engine + LLM review Offer()   %10.0f reviews/s per core (%.1f%% of alone; target >= 20000: %s)\n",
      with, 100.0 * with / without, with >= 20000 ? "met" : "NOT met");
  std::printf(
      "figure: name=analyzer_pipeline_with_llm_review_%s_reviews_per_s value=%.0f unit=reviews/s "
      "target=>=20000 baseline=engine_alone baseline_value=%.0f\n",
      name.c_str(), with, without);
  std::printf(
      "figure: name=analyzer_llm_review_sampled_share_%s value=%.3f unit=share target=- baseline=- "
      "baseline_value=-\n",
      name.c_str(), static_cast<double>(sampled) / rows.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  logging::SetMinLevel(logging::Level::kWarning);
  int rc = 0;
  const std::vector<ReviewRow> amazon = AmazonReviews(absl::GetFlag(FLAGS_data_dir));
  if (amazon.empty()) {
    std::printf("amazon: no data under %s/amazon-5core (skipped)\n", absl::GetFlag(FLAGS_data_dir).c_str());
  } else {
    rc |= Measure("amazon", amazon);
  }
  rc |= Measure("generated", GeneratedReviews());
  return rc;
}
