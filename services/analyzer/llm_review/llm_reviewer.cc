#include "services/analyzer/llm_review/llm_reviewer.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging/log.h"
#include "common/migrate/sha256.h"
#include "common/status/macros.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace marketlens::analyzer::llm_review {

// Counts what every call to the remote model costs (retries and rejected answers included) for the budget;
// estimated from the bytes when the server reports no usage.
class LlmReviewer::MeteredBackend : public llm::LlmBackend {
 public:
  MeteredBackend(std::unique_ptr<llm::LlmBackend> inner, ReviewMetrics* metrics)
      : inner_(std::move(inner)), metrics_(metrics) {}
  std::string name() const override { return inner_->name(); }
  std::string model() const override { return inner_->model(); }
  absl::StatusOr<llm::LlmResponse> Complete(const llm::RenderedPrompt& prompt, absl::Time deadline) override {
    auto r = inner_->Complete(prompt, deadline);
    if (r.ok()) {
      const int64_t in = r->prompt_tokens > 0
                             ? r->prompt_tokens
                             : static_cast<int64_t>((prompt.system.size() + prompt.user.size()) / 4);
      const int64_t out =
          r->completion_tokens > 0 ? r->completion_tokens : static_cast<int64_t>(r->content.size() / 4);
      metrics_->tokens("prompt").Increment(static_cast<double>(in));
      metrics_->tokens("completion").Increment(static_cast<double>(out));
      spent_ += in + out;
    }
    return r;
  }
  int64_t spent() const { return spent_.load(); }

 private:
  std::unique_ptr<llm::LlmBackend> inner_;
  ReviewMetrics* metrics_;
  std::atomic<int64_t> spent_{0};
};

namespace {

std::string Outcome(const absl::Status& s) {
  if (absl::IsOutOfRange(s)) return "truncated";
  if (absl::IsInvalidArgument(s)) return "invalid_output";
  if (absl::IsCancelled(s)) return "cancelled";
  if (absl::IsUnavailable(s) && absl::StrContains(s.message(), "circuit open")) return "circuit_open";
  return "error";
}

}  // namespace

absl::StatusOr<std::unique_ptr<LlmReviewer>> LlmReviewer::Create(
    const BackendFactory& backend, llm::StructuredLlmOptions llm_options, const llm::PromptLibrary* prompts,
    ReviewInsightStore* store, redis::Cache* cache, const Engine* engine, ReviewerOptions options,
    ReviewMetrics* metrics, AnalyzerMetrics* llm_metrics) {
  if (prompts == nullptr) return absl::InvalidArgumentError("no prompt library");
  ASSIGN_OR_RETURN(auto tmpl, prompts->Get("review_batch"));
  if (options.batch_size < 1 || options.batch_size > 64)
    return absl::InvalidArgumentError("llm_review_batch_size must be in 1..64");
  std::unique_ptr<LlmReviewer> r(new LlmReviewer(prompts, store, cache, engine, std::move(options), metrics));
  r->template_ = tmpl;
  r->prompt_id_ = tmpl->id();
  auto metered = std::make_unique<MeteredBackend>(backend(&r->stop_), metrics);
  r->meter_ = metered.get();
  r->model_ = metered->model();
  llm_options.cancel = &r->stop_;
  r->llm_ = std::make_unique<llm::StructuredLlm>(std::move(metered), nullptr, llm_options, llm_metrics);
  r->UpdateGauges();
  return r;
}

LlmReviewer::LlmReviewer(const llm::PromptLibrary* prompts, ReviewInsightStore* store, redis::Cache* cache,
                         const Engine* engine, ReviewerOptions options, ReviewMetrics* metrics)
    : prompts_(prompts),
      store_(store),
      cache_(cache),
      engine_(engine),
      options_(std::move(options)),
      metrics_(metrics),
      budget_(options_.reviews_per_day, options_.tokens_per_day, options_.now),
      queue_(options_.queue_capacity) {}

LlmReviewer::~LlmReviewer() { Stop(); }

std::string LlmReviewer::ContentHash(const ReviewRow& review) {
  return migrate::Sha256Hex(
      absl::StrCat(review.category, "\x1f", review.rating, "\x1f", review.title, "\x1f", review.text));
}

std::string LlmReviewer::CacheKey(const std::string& content_hash) const {
  return migrate::Sha256Hex(absl::StrCat(prompt_id_, "\x1f", model_, "\x1f", content_hash));
}

void LlmReviewer::Offer(const std::vector<std::pair<ReviewRow, Analysis>>& analysed) {
  std::vector<ReviewCandidate> picked;
  int by_priority[4] = {0, 0, 0, 0};
  for (const auto& [row, local] : analysed) {
    const int p = SamplePriority(row, local, options_.sampling);
    if (p < 0) continue;
    picked.push_back({row, local, p});
    ++by_priority[p];
  }
  if (picked.empty()) return;
  for (int p = 0; p < 4; ++p) {
    if (by_priority[p] > 0) metrics_->sampled(p).Increment(by_priority[p]);
  }
  const int dropped = queue_.Push(std::move(picked));
  if (dropped > 0) metrics_->dropped().Increment(dropped);
  metrics_->queue_depth().Set(static_cast<double>(queue_.size()));
}

int64_t LlmReviewer::Estimate(const ReviewRow& review) const {
  const size_t bytes = std::min(review.text.size(), options_.max_review_bytes) + review.title.size() + 80;
  return static_cast<int64_t>(bytes / 4) + options_.answer_tokens_per_review;
}

llm::RenderedPrompt LlmReviewer::Render(const std::vector<Pending>& batch) const {
  std::vector<std::string> lines;
  for (size_t i = 0; i < batch.size(); ++i) {
    const ReviewRow& r = batch[i].candidate.review;
    std::string text = r.text.substr(0, options_.max_review_bytes);
    // Cut at a character boundary.
    while (!text.empty() && text.size() < r.text.size() &&
           (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80)
      text.pop_back();
    if (!text.empty() && text.size() < r.text.size() && static_cast<unsigned char>(text.back()) >= 0xC0)
      text.pop_back();
    // Short positional ids ("r1", ...): fewer tokens, and nothing for the model to mangle.
    const nlohmann::ordered_json line = {{"id", absl::StrCat("r", i + 1)},
                                         {"category", r.category.empty() ? "unknown" : r.category},
                                         {"rating", r.rating},
                                         {"title", r.title},
                                         {"text", text}};
    lines.push_back(line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  }
  auto rendered =
      template_->Render({{"count", absl::StrCat(batch.size())}, {"reviews", absl::StrJoin(lines, "\n")}});
  llm::RenderedPrompt p = rendered.ok() ? *std::move(rendered) : llm::RenderedPrompt{prompt_id_, "", ""};
  p.response_schema = ReviewBatchJsonSchema();
  p.response_schema_name = "ReviewBatchOutput";
  return p;
}

ReviewInsightRecord LlmReviewer::Fallback(const Pending& p, const std::string& reason) const {
  ReviewInsightRecord rec;
  const ReviewRow& r = p.candidate.review;
  rec.review_id = r.id;
  rec.product_id = r.product_id;
  rec.review_version = r.version;
  rec.content_hash = p.hash;
  rec.backend = "local";
  rec.model = engine_ != nullptr ? engine_->version() : "local";
  rec.prompt_id = prompt_id_;
  rec.fallback_reason = reason;
  rec.insight = InsightFromLocal(p.candidate.local);
  metrics_->fallbacks(reason).Increment();
  metrics_->reviews("local", "fallback").Increment();
  return rec;
}

ReviewInsightRecord LlmReviewer::FromModel(const Pending& p, ReviewInsight insight, const std::string& model,
                                           bool cached) const {
  ReviewInsightRecord rec;
  const ReviewRow& r = p.candidate.review;
  rec.review_id = r.id;
  rec.product_id = r.product_id;
  rec.review_version = r.version;
  rec.content_hash = p.hash;
  rec.backend = llm_->backend_name();
  rec.model = model;
  rec.prompt_id = prompt_id_;
  rec.cached = cached;
  rec.insight = std::move(insight);
  metrics_->reviews(rec.backend, cached ? "cache" : "llm").Increment();
  return rec;
}

void LlmReviewer::Requeue(std::vector<Pending> items) {
  std::vector<ReviewCandidate> back;
  for (Pending& p : items) back.push_back(std::move(p.candidate));
  const int dropped = queue_.Push(std::move(back));
  if (dropped > 0) metrics_->dropped().Increment(dropped);
}

bool LlmReviewer::FitBudget(std::vector<Pending>* batch) {
  std::vector<int64_t> estimates;
  for (const Pending& p : *batch) estimates.push_back(Estimate(p.candidate.review));
  std::string exhausted;
  const size_t n = budget_.Fit(estimates, options_.prompt_overhead_tokens, &exhausted);
  if (n < batch->size()) {
    std::vector<Pending> rest(std::make_move_iterator(batch->begin() + n),
                              std::make_move_iterator(batch->end()));
    batch->resize(n);
    Requeue(std::move(rest));
  }
  if (n == 0) {
    metrics_->budget_exhausted(exhausted).Increment();
    paused_until_ = std::min(budget_.next_reset(), options_.now() + options_.budget_recheck);
    logging::Info("LLM review budget spent for today; reviews stay queued",
                  {{"budget", exhausted}, {"queued", static_cast<int64_t>(queue_.size())}});
    return false;
  }
  return true;
}

void LlmReviewer::AnalyseBatch(std::vector<Pending> batch, std::vector<ReviewInsightRecord>* records) {
  if (batch.empty()) return;
  const llm::RenderedPrompt prompt = Render(batch);
  const int64_t before = meter_->spent();
  auto r = llm_->Call(prompt, ReviewBatchSchema(), absl::Now() + options_.call_timeout);
  const int64_t spent = meter_->spent() - before;
  budget_.Spend(r.ok() ? static_cast<int64_t>(batch.size()) : 0, spent);
  if (!r.ok()) {
    const std::string outcome = Outcome(r.status());
    metrics_->requests(outcome).Increment();
    if (outcome == "cancelled") {
      Requeue(std::move(batch));
      return;
    }
    if (outcome == "truncated" && batch.size() > 1) {
      // The answer did not fit max_tokens: ask about half as many reviews at a time.
      const size_t half = batch.size() / 2;
      std::vector<Pending> second(std::make_move_iterator(batch.begin() + half),
                                  std::make_move_iterator(batch.end()));
      batch.resize(half);
      for (std::vector<Pending>* part : {&batch, &second}) {
        if (stop_.load() || !FitBudget(part)) {
          Requeue(std::move(*part));
          continue;
        }
        AnalyseBatch(std::move(*part), records);
      }
      return;
    }
    logging::Warn("LLM review batch failed; the local engine answers",
                  {{"reviews", static_cast<int64_t>(batch.size())}, {"error", r.status()}});
    for (const Pending& p : batch) records->push_back(Fallback(p, outcome));
    return;
  }
  metrics_->requests("ok").Increment();
  absl::flat_hash_map<std::string, google::protobuf::Struct> items;
  for (auto& item : llm::GetObjects(r->value, "reviews")) {
    items.try_emplace(llm::GetString(item, "id"), std::move(item));
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    const Pending& p = batch[i];
    auto it = items.find(absl::StrCat("r", i + 1));
    if (it == items.end()) {
      records->push_back(Fallback(p, "missing"));
      continue;
    }
    if (!llm::Validate(it->second, ReviewItemSchema()).ok()) {
      records->push_back(Fallback(p, "invalid"));
      continue;
    }
    ReviewInsight insight = InsightFromAnswer(it->second);
    if (!Grounded(insight, p.candidate.review.title, p.candidate.review.text)) {
      records->push_back(Fallback(p, "ungrounded"));
      continue;
    }
    if (cache_ != nullptr) {
      std::string json;
      if (google::protobuf::util::MessageToJsonString(it->second, &json).ok())
        cache_->Put(CacheKey(p.hash), json, options_.cache_ttl);
    }
    records->push_back(FromModel(p, std::move(insight), r->model, /*cached=*/false));
  }
}

absl::StatusOr<int> LlmReviewer::RunOnce() {
  if (options_.now() < paused_until_) {
    UpdateGauges();
    return 0;
  }
  std::vector<ReviewCandidate> popped = queue_.PopBest(options_.batch_size);
  if (popped.empty()) {
    UpdateGauges();
    return 0;
  }
  std::vector<Pending> all;
  std::vector<std::string> ids;
  for (ReviewCandidate& c : popped) {
    ids.push_back(c.review.id);
    std::string hash = ContentHash(c.review);
    all.push_back({std::move(c), std::move(hash)});
  }
  auto stored = store_->StoredHashes(ids, prompt_id_);
  if (!stored.ok()) {
    Requeue(std::move(all));
    return stored.status();
  }
  std::vector<ReviewInsightRecord> records;
  std::vector<Pending> todo;
  for (Pending& p : all) {
    if (auto s = stored->find(p.candidate.review.id); s != stored->end() && s->second == p.hash) {
      metrics_->skipped().Increment();
      continue;
    }
    if (cache_ != nullptr) {
      if (auto hit = cache_->Get(CacheKey(p.hash))) {
        auto item = llm::ParseJsonObject(*hit);
        if (item.ok() && llm::Validate(*item, ReviewItemSchema()).ok()) {
          ReviewInsight insight = InsightFromAnswer(*item);
          if (Grounded(insight, p.candidate.review.title, p.candidate.review.text)) {
            records.push_back(FromModel(p, std::move(insight), model_, /*cached=*/true));
            continue;
          }
        }
      }
    }
    todo.push_back(std::move(p));
  }
  std::vector<Pending> sent;  // for requeueing if the save fails
  if (!todo.empty() && FitBudget(&todo)) {
    for (const Pending& p : todo) sent.push_back(p);
    AnalyseBatch(std::move(todo), &records);
  }
  absl::Status saved = store_->Save(records);
  UpdateGauges();
  if (!saved.ok()) {
    // Answers already paid for are in the cache: asking again costs nothing.
    Requeue(std::move(sent));
    return saved;
  }
  return static_cast<int>(records.size());
}

absl::StatusOr<int> LlmReviewer::Backfill() {
  if (engine_ == nullptr) return 0;
  ASSIGN_OR_RETURN(auto rows, store_->Backlog(prompt_id_, 4 * options_.batch_size));
  SamplingPolicy own_sake = options_.sampling;
  own_sake.sample_rate = 0;
  std::vector<ReviewCandidate> picked;
  for (ReviewRow& r : rows) {
    Analysis a =
        engine_->Analyze({.title = r.title, .text = r.text, .category = r.category, .rating = r.rating});
    const int p = SamplePriority(r, a, own_sake);
    if (p < 0) continue;  // the engine changed its mind since (another model)
    metrics_->sampled(p).Increment();
    picked.push_back({std::move(r), std::move(a), p});
  }
  const int n = static_cast<int>(picked.size());
  if (n > 0) {
    const int dropped = queue_.Push(std::move(picked));
    if (dropped > 0) metrics_->dropped().Increment(dropped);
  }
  metrics_->queue_depth().Set(static_cast<double>(queue_.size()));
  return n;
}

void LlmReviewer::UpdateGauges() {
  metrics_->budget_remaining("reviews").Set(static_cast<double>(budget_.reviews_left()));
  metrics_->budget_remaining("tokens").Set(static_cast<double>(budget_.tokens_left()));
  metrics_->queue_depth().Set(static_cast<double>(queue_.size()));
}

void LlmReviewer::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void LlmReviewer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void LlmReviewer::Loop() {
  absl::Duration backoff = absl::Milliseconds(200);
  auto sleep = [this](absl::Duration d) {
    for (const absl::Time until = absl::Now() + d; !stop_.load() && absl::Now() < until;)
      absl::SleepFor(std::min(absl::Milliseconds(100), until - absl::Now()));
  };
  while (!stop_.load()) {
    if (options_.now() < paused_until_) {
      sleep(std::min(absl::Seconds(1), paused_until_ - options_.now()));
      continue;
    }
    if (!queue_.WaitNonEmpty(options_.idle_wait)) {
      if (options_.backfill_interval > absl::ZeroDuration() && absl::Now() >= next_backfill_) {
        next_backfill_ = absl::Now() + options_.backfill_interval;
        if (auto b = Backfill(); !b.ok())
          logging::Warn("LLM review backlog read failed", {{"error", b.status()}});
      }
      continue;
    }
    auto r = RunOnce();
    if (!r.ok()) {
      logging::Warn("LLM review round failed; will retry", {{"error", r.status()}});
      sleep(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(10));
    } else {
      backoff = absl::Milliseconds(200);
    }
  }
}

}  // namespace marketlens::analyzer::llm_review
