#include "services/analyzer/pipeline.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/logging/log.h"
#include "common/status/macros.h"

namespace marketlens::analyzer {

Pipeline::Pipeline(InsightsStore* store, Engine* engine, redis::RedisClient* redis, PipelineOptions options,
                   AnalyzerMetrics* metrics)
    : store_(store), engine_(engine), redis_(redis), options_(std::move(options)), metrics_(metrics) {}

Pipeline::~Pipeline() { Stop(); }

absl::Status Pipeline::Init() {
  auto model = store_->LoadActiveModel();
  if (absl::IsFailedPrecondition(model.status())) {
    // A model of an older engine (NB-LR): retrain rather than fail to start.
    logging::Warn("active weak-label model not usable; retraining", {{"reason", model.status()}});
    model = std::optional<TextModel>();
  }
  if (!model.ok()) return model.status();
  if (model->has_value()) {
    metrics_->model_examples().Set(static_cast<double>((*model)->info().examples));
    logging::Info("loaded weak-label model",
                  {{"version", (*model)->info().version}, {"examples", (*model)->info().examples}});
    engine_->SetModel(std::make_shared<const TextModel>(**std::move(model)));
  }
  ASSIGN_OR_RETURN(auto terms, store_->LoadDiscoveredTerms());
  engine_->SetDiscoveredTerms(terms);
  if (options_.train && engine_->model() == nullptr) {
    absl::Status s = Retrain();
    if (!s.ok() && !absl::IsFailedPrecondition(s)) return s;  // CANCELLED: the loop is stopping
  }
  return absl::OkStatus();
}

absl::Status Pipeline::Retrain() {
  absl::MutexLock lock(&train_mu_);
  auto rows = store_->TrainingData(options_.train_limit);
  if (!rows.ok()) {
    metrics_->trainings("error").Increment();
    return rows.status();
  }
  std::vector<RatedText> rated;
  rated.reserve(rows->size());
  for (const auto& r : *rows) rated.push_back(r.rated);
  const absl::Time start = absl::Now();
  logging::Info("training the weak-label model", {{"reviews", static_cast<int64_t>(rated.size())}});
  GateOptions gate_options = options_.gate;
  gate_options.train.cancel = &stop_;  // Stop() / SIGTERM interrupt a training run
  auto model = TrainGatedModel(*engine_, rated, gate_options);
  if (!model.ok()) {
    metrics_
        ->trainings(absl::IsFailedPrecondition(model.status()) ? "skipped"
                    : absl::IsCancelled(model.status())        ? "cancelled"
                                                               : "error")
        .Increment();
    logging::Info("weak-label model not trained", {{"reason", model.status()}});
    return model.status();
  }
  // The gate: the model goes live only if it beats rules alone on a balanced held-out sample of its data.
  const GateFigures& gate = model->info().gate;
  metrics_->gate_balanced_accuracy("rules").Set(gate.rules_balanced_accuracy);
  metrics_->gate_balanced_accuracy("combined").Set(gate.combined_balanced_accuracy);
  metrics_->gate_macro_f1("rules").Set(gate.rules_macro_f1);
  metrics_->gate_macro_f1("combined").Set(gate.combined_macro_f1);
  logging::Info(gate.passed ? "weak-label model passed the gate" : "weak-label model rejected by the gate",
                {{"version", model->info().version},
                 {"gate_examples", gate.examples},
                 {"rules_balanced_accuracy", gate.rules_balanced_accuracy},
                 {"combined_balanced_accuracy", gate.combined_balanced_accuracy},
                 {"rules_macro_f1", gate.rules_macro_f1},
                 {"combined_macro_f1", gate.combined_macro_f1},
                 {"reviews", static_cast<int64_t>(rated.size())}});
  if (!gate.passed) {
    metrics_->trainings("rejected").Increment();
    rejected_at_reviews_ = static_cast<int64_t>(rows->size());
    return absl::FailedPreconditionError(
        absl::StrFormat("the new model does not beat rules alone (balanced accuracy %.3f vs %.3f, macro-F1 "
                        "%.3f vs %.3f on %d held-out reviews); the engine keeps its current model",
                        gate.combined_balanced_accuracy, gate.rules_balanced_accuracy, gate.combined_macro_f1,
                        gate.rules_macro_f1, gate.examples));
  }
  absl::Status saved = store_->SaveModel(*model, /*activate=*/true);
  if (!saved.ok()) {
    metrics_->trainings("error").Increment();
    return saved;
  }
  // Aspect terms from the same reviews.
  auto taxonomy = engine_->taxonomy();
  const Lexicon& lexicon = engine_->lexicon();
  AspectDiscoverer discoverer([&](absl::string_view category, absl::string_view term) {
    if (taxonomy->Knows(category, term)) return true;
    for (absl::string_view w : absl::StrSplit(term, ' ')) {
      if (lexicon.Valence(w) != 0) return true;  // "the great ..." is an opinion, not a feature
    }
    return false;
  });
  TokenizedText tt;
  const TokenizerOptions topts = engine_->tokenizer_options();
  size_t done = 0;
  for (const auto& r : *rows) {
    if (++done % 1024 == 0 && stop_.load()) {
      // The new model is stored and active; its aspect terms are rediscovered at the next training.
      engine_->SetModel(std::make_shared<const TextModel>(*std::move(model)));
      metrics_->trainings("ok").Increment();
      return absl::CancelledError("stopping: aspect discovery skipped");
    }
    Tokenize(r.rated.text, topts, &tt);
    discoverer.Add(r.category, tt);
  }
  const std::vector<DiscoveredTerm> terms =
      discoverer.Result(options_.discovery_min_documents, options_.discovery_max_per_category);
  absl::Status st = store_->SaveDiscoveredTerms(terms);
  if (!st.ok()) logging::Warn("could not store discovered aspect terms", {{"error", st}});
  engine_->SetDiscoveredTerms(terms);
  metrics_->trainings("ok").Increment();
  metrics_->model_examples().Set(static_cast<double>(model->info().examples));
  logging::Info("weak-label model trained",
                {{"version", model->info().version},
                 {"examples", model->info().examples},
                 {"cv_balanced_accuracy", model->info().holdout_balanced_accuracy},
                 {"discovered_terms", static_cast<int>(terms.size())},
                 {"seconds", absl::ToDoubleSeconds(absl::Now() - start)}});
  engine_->SetModel(std::make_shared<const TextModel>(*std::move(model)));
  return absl::OkStatus();
}

absl::Status Pipeline::MaybeRetrain() {
  if (!options_.train) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto count, store_->CountReviews());
  auto model = engine_->model();
  const int64_t trained_on = model ? model->info().examples + model->info().gate.examples : 0;
  if (model != nullptr && count < trained_on * (1 + options_.retrain_growth) + 20) return absl::OkStatus();
  if (model == nullptr && count < 50) return absl::OkStatus();
  // After a rejection, wait for as much new data as after a training.
  if (rejected_at_reviews_ > 0 && count < rejected_at_reviews_ * (1 + options_.retrain_growth) + 20) {
    return absl::OkStatus();
  }
  absl::Status s = Retrain();
  return absl::IsFailedPrecondition(s) || absl::IsCancelled(s) ? absl::OkStatus() : s;
}

absl::Status Pipeline::AnalyzeAndSave(const std::vector<ReviewRow>& rows, const std::string& source,
                                      std::set<std::string>* products) {
  if (rows.empty()) return absl::OkStatus();
  const std::string version = engine_->version();
  std::vector<std::pair<ReviewRow, Analysis>> analysed;
  analysed.reserve(rows.size());
  for (const ReviewRow& r : rows) {
    Analysis a =
        engine_->Analyze({.title = r.title, .text = r.text, .category = r.category, .rating = r.rating});
    analysed.emplace_back(r, std::move(a));
  }
  auto touched = store_->SaveAnalyses(analysed, version);
  if (!touched.ok()) {
    metrics_->errors("save").Increment();
    return touched.status();
  }
  metrics_->analyzed(source).Increment(static_cast<double>(rows.size()));
  if (analysed_observer_) analysed_observer_(analysed);
  products->insert(touched->begin(), touched->end());
  return absl::OkStatus();
}

absl::StatusOr<ChangeOptions> Pipeline::ChangeOptionsFor(absl::Time now) {
  ChangeOptions changes = options_.changes;
  if (!changes.eb_stars || changes.eb_stars_model != nullptr) return changes;
  // One aggregate and one fit per batch, as DetectChanges fits it over the products it is given; the
  // model (and its null cache) is kept while the fitted prior is unchanged.
  ASSIGN_OR_RETURN(auto fitted, store_->FitStarLevelsPrior(now, changes.eb_stars_statistic));
  if (stars_model_ == nullptr || stars_model_->level_prior() != fitted->level_prior()) stars_model_ = fitted;
  changes.eb_stars_model = stars_model_;
  return changes;
}

absl::Status Pipeline::Recompute(const std::set<std::string>& products, BatchResult* result) {
  if (products.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto now, store_->DataNow());
  ASSIGN_OR_RETURN(const ChangeOptions changes, ChangeOptionsFor(now));
  for (const std::string& product : products) {
    if (stop_.load()) return absl::CancelledError("stopping");
    auto r = store_->RecomputeProduct(product, now, options_.aggregate, options_.alerts, changes);
    if (!r.ok()) {
      metrics_->errors("recompute").Increment();
      return r.status();
    }
    metrics_->products_recomputed().Increment();
    ++result->products;
    result->alerts_raised += r->alerts_raised;
  }
  // The catalogue-wide FDR threshold moved with these products' tests: re-judge every product's alerts.
  ASSIGN_OR_RETURN(auto reconciled, store_->ReconcileAlerts("", changes));
  result->alerts_raised += reconciled.alerts_raised;
  return absl::OkStatus();
}

absl::StatusOr<BatchResult> Pipeline::ProcessReviews(const std::vector<std::string>& review_ids,
                                                     const std::string& source) {
  auto rows = store_->LoadReviews(review_ids);
  if (!rows.ok()) {
    metrics_->errors("read").Increment();
    return rows.status();
  }
  BatchResult result;
  std::set<std::string> products;
  RETURN_IF_ERROR(AnalyzeAndSave(*rows, source, &products));
  result.reviews = static_cast<int>(rows->size());
  RETURN_IF_ERROR(Recompute(products, &result));
  return result;
}

absl::StatusOr<BatchResult> Pipeline::CatchUp() {
  BatchResult total;
  std::string after;
  const std::string version = engine_->version();
  int64_t pending = 0;
  std::set<std::string> products;
  // Products are recomputed every few batches (not after each one: a product's reviews span batches).
  constexpr size_t kRecomputeEvery = 2000;
  while (!stop_.load()) {
    auto rows = store_->PendingReviews(version, after, options_.catchup_batch);
    if (!rows.ok()) {
      metrics_->errors("read").Increment();
      return rows.status();
    }
    if (rows->empty()) break;
    pending += rows->size();
    after = rows->back().id;
    RETURN_IF_ERROR(AnalyzeAndSave(*rows, "catchup", &products));
    total.reviews += static_cast<int>(rows->size());
    if (products.size() >= kRecomputeEvery) {
      RETURN_IF_ERROR(Recompute(products, &total));
      products.clear();
    }
    if (static_cast<int>(rows->size()) < options_.catchup_batch) break;
  }
  RETURN_IF_ERROR(Recompute(products, &total));
  metrics_->pending_reviews().Set(static_cast<double>(pending));
  if (total.reviews > 0) {
    logging::Info(
        "catch-up pass",
        {{"reviews", total.reviews}, {"products", total.products}, {"alerts_raised", total.alerts_raised}});
  }
  return total;
}

absl::StatusOr<int> Pipeline::PollStreamOnce(absl::Duration block) {
  if (redis_ == nullptr) return 0;
  if (!group_ready_) {
    RETURN_IF_ERROR(redis_->XGroupCreate(options_.stream, options_.group, /*mkstream=*/true, "0"));
    group_ready_ = true;
  }
  // Our own pending entries first (a restart with the same consumer name), then entries idle at dead
  // consumers, then new ones.
  std::vector<redis::StreamEntry> entries;
  auto own =
      redis_->XReadGroup(options_.group, options_.consumer, options_.stream, options_.stream_batch, 0, "0");
  if (!own.ok()) {
    if (absl::IsNotFound(own.status())) group_ready_ = false;  // stream or group deleted
    return own.status();
  }
  entries = *std::move(own);
  if (entries.empty()) {
    auto claimed = redis_->XAutoClaim(options_.stream, options_.group, options_.consumer, options_.claim_idle,
                                      "0-0", options_.stream_batch);
    if (claimed.ok()) entries = std::move(claimed->entries);
  }
  if (entries.empty()) {
    auto fresh = redis_->XReadGroup(options_.group, options_.consumer, options_.stream, options_.stream_batch,
                                    absl::ToInt64Milliseconds(block), ">");
    if (!fresh.ok()) {
      if (absl::IsNotFound(fresh.status())) group_ready_ = false;
      return fresh.status();
    }
    entries = *std::move(fresh);
  }
  if (entries.empty()) return 0;
  std::vector<std::string> ids, acks;
  std::set<std::string> seen;
  absl::Time oldest_queued = absl::InfiniteFuture();
  for (const auto& e : entries) {
    acks.push_back(e.id);
    if (e.deleted) continue;
    const std::string* review = e.Find("review_id");
    if (review == nullptr || review->empty()) continue;  // malformed: acknowledged and dropped
    if (seen.insert(*review).second) ids.push_back(*review);
    if (const std::string* q = e.Find("queued_at")) {
      absl::Time t;
      std::string err;
      if (absl::ParseTime(absl::RFC3339_full, *q, &t, &err)) oldest_queued = std::min(oldest_queued, t);
    }
  }
  metrics_->stream_entries().Increment(static_cast<double>(entries.size()));
  RETURN_IF_ERROR(ProcessReviews(ids, "stream"));  // not acknowledged: redelivered
  RETURN_IF_ERROR(redis_->XAck(options_.stream, options_.group, acks));
  if (oldest_queued != absl::InfiniteFuture()) {
    metrics_->insights_lag_seconds().Set(std::max(0.0, absl::ToDoubleSeconds(absl::Now() - oldest_queued)));
  }
  return static_cast<int>(entries.size());
}

void Pipeline::Start() {
  stop_ = false;
  finished_ = false;
  thread_ = std::thread([this] {
    Loop();
    finished_ = true;
  });
}

bool Pipeline::StopWithin(absl::Duration timeout) {
  stop_ = true;
  const absl::Time give_up = absl::Now() + timeout;
  while (thread_.joinable() && !finished_.load() && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (thread_.joinable() && !finished_.load()) return false;
  if (thread_.joinable()) thread_.join();
  return true;
}

void Pipeline::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Pipeline::Loop() {
  // Load (or train) the model first; Postgres may not be up yet.
  for (absl::Duration wait = absl::Milliseconds(500); !stop_.load();) {
    absl::Status s = Init();
    if (s.ok()) break;
    logging::Warn("analyzer pipeline cannot start yet; retrying", {{"error", s}});
    for (absl::Time until = absl::Now() + wait; !stop_.load() && absl::Now() < until;) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    wait = std::min(wait * 2, absl::Seconds(10));
  }
  absl::Time next_catchup = absl::InfinitePast();
  absl::Time next_retrain = absl::Now() + options_.retrain_check_interval;
  absl::Duration redis_backoff = absl::Milliseconds(200);
  while (!stop_.load()) {
    const absl::Time now = absl::Now();
    if (now >= next_retrain) {
      next_retrain = now + options_.retrain_check_interval;
      absl::Status s = MaybeRetrain();
      if (!s.ok()) {
        metrics_->errors("train").Increment();
        logging::Warn("retraining failed", {{"error", s}});
      }
    }
    if (now >= next_catchup) {
      next_catchup = now + options_.catchup_interval;
      auto r = CatchUp();
      if (!r.ok()) {
        logging::Warn("catch-up failed; will retry", {{"error", r.status()}});
        next_catchup = now + std::min(options_.catchup_interval, absl::Seconds(5));
      }
    }
    if (redis_ == nullptr) {
      absl::SleepFor(std::min(absl::Milliseconds(500), options_.catchup_interval));
      continue;
    }
    auto n = PollStreamOnce(options_.stream_block);
    if (!n.ok()) {
      metrics_->errors("read").Increment();
      logging::Debug("review stream read failed", {{"error", n.status()}});
      // Redis down (the catch-up still runs) or a database error: back off, bounded.
      absl::SleepFor(redis_backoff);
      redis_backoff = std::min(redis_backoff * 2, absl::Seconds(5));
    } else {
      redis_backoff = absl::Milliseconds(200);
    }
  }
}

}  // namespace marketlens::analyzer
