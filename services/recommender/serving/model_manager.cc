#include "services/recommender/serving/model_manager.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/logging/log.h"
#include "services/recommender/store/pg_source.h"

namespace marketlens::recommender {
namespace {

absl::Status MakeDirs(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      const std::string path = dir.substr(0, i);
      if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
        return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

ModelManager::ModelManager(postgres::PgPool* pool, ModelManagerOptions options)
    : pool_(pool),
      options_(std::move(options)),
      registry_(pool),
      experiments_store_(pool),
      experiments_(std::make_shared<const std::vector<ExperimentSpec>>()) {}

ModelManager::~ModelManager() { Stop(); }

std::shared_ptr<const ServingModel> ModelManager::Current() const { return current_.load(); }

std::shared_ptr<const ServingModel> ModelManager::ForVersion(const std::string& version) const {
  std::shared_ptr<const ServingModel> current = current_.load();
  if (current != nullptr && current->version() == version) return current;
  absl::MutexLock lock(&mu_);
  auto it = loaded_.find(version);
  return it == loaded_.end() ? nullptr : it->second;
}

std::shared_ptr<const CatalogSnapshot> ModelManager::Catalog() const { return catalog_.load(); }

std::shared_ptr<const std::vector<ExperimentSpec>> ModelManager::Experiments() const {
  return experiments_.load();
}

void ModelManager::SetCurrentForTesting(std::shared_ptr<const ServingModel> model) {
  current_.store(std::move(model));
}

void ModelManager::SetCatalogForTesting(std::shared_ptr<const CatalogSnapshot> catalog) {
  catalog_.store(std::move(catalog));
}

absl::StatusOr<std::shared_ptr<const ServingModel>> ModelManager::Load(const ModelRecord& record) {
  auto path = ArtifactPath(record.artifact_uri);
  if (!path.ok()) return path.status();
  auto bundle = ReadBundleFile(*path);
  if (!bundle.ok()) return bundle.status();
  if (bundle->version != record.version) {
    return absl::DataLossError(
        absl::StrCat("artifact ", *path, " holds version ", bundle->version, ", not ", record.version));
  }
  return ServingModel::Create(*std::move(bundle), options_.serving);
}

absl::StatusOr<std::shared_ptr<const ServingModel>> ModelManager::LoadVersion(const std::string& version) {
  if (auto loaded = ForVersion(version)) return loaded;
  absl::MutexLock load_lock(&load_mu_);
  if (auto loaded = ForVersion(version)) return loaded;  // loaded while we waited
  auto record = registry_.Get(version);
  if (!record.ok()) return record.status();
  const absl::Time start = absl::Now();
  auto model = Load(*record);
  if (!model.ok()) return model.status();
  logging::Info("model loaded", {{"version", version},
                                 {"items", (*model)->num_items()},
                                 {"users", (*model)->bundle().num_users()},
                                 {"ann", (*model)->ann() != nullptr},
                                 {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  absl::MutexLock lock(&mu_);
  loaded_[version] = *model;
  return *model;
}

absl::Status ModelManager::Preload(const std::string& version) { return LoadVersion(version).status(); }

absl::Status ModelManager::RefreshModel() {
  auto promoted = registry_.Promoted();
  if (!promoted.ok()) return promoted.status();
  if (!promoted->has_value()) return absl::OkStatus();
  const std::string version = (*promoted)->version;
  {
    std::shared_ptr<const ServingModel> current = current_.load();
    if (current != nullptr && current->version() == version) return absl::OkStatus();
    absl::MutexLock lock(&mu_);
    auto failed = failed_.find(version);
    if (failed != failed_.end() && absl::Now() < failed->second) return absl::OkStatus();
  }
  auto model = LoadVersion(version);
  absl::MutexLock lock(&mu_);
  if (!model.ok()) {
    ++reload_failures_;
    failed_[version] = absl::Now() + options_.retry_failed_after;
    logging::Error("promoted model cannot be loaded; keeping the current one",
                   {{"version", version}, {"error", model.status()}});
    return model.status();
  }
  std::shared_ptr<const ServingModel> previous_model = current_.load();
  const std::string previous = previous_model != nullptr ? previous_model->version() : "";
  current_.store(*model);
  failed_.erase(version);
  ++reloads_;
  logging::Info("serving model", {{"version", version}, {"previous", previous}});
  return absl::OkStatus();
}

absl::Status ModelManager::RefreshCatalog() {
  auto catalog = LoadCatalog(*pool_);
  if (!catalog.ok()) return catalog.status();
  catalog_.store(*std::move(catalog));
  return absl::OkStatus();
}

absl::Status ModelManager::RefreshExperiments() {
  auto running = experiments_store_.Running();
  if (!running.ok()) return running.status();
  // Load every variant's model; unload models nobody uses any more.
  std::set<std::string> wanted;
  for (const ExperimentSpec& e : *running) {
    for (const auto& v : e.variants) {
      if (!v.model_version.empty()) wanted.insert(v.model_version);
    }
  }
  for (const std::string& version : wanted) {
    {
      absl::MutexLock lock(&mu_);
      auto failed = failed_.find(version);
      if (failed != failed_.end() && absl::Now() < failed->second) continue;
    }
    if (auto m = LoadVersion(version); !m.ok()) {
      logging::Warn("experiment model cannot be loaded; its users get the promoted model",
                    {{"version", version}, {"error", m.status()}});
      absl::MutexLock lock(&mu_);
      failed_[version] = absl::Now() + options_.retry_failed_after;
    }
  }
  std::shared_ptr<const ServingModel> current = current_.load();
  absl::MutexLock lock(&mu_);
  for (auto it = loaded_.begin(); it != loaded_.end();) {
    const bool keep = wanted.count(it->first) || (current != nullptr && current->version() == it->first);
    it = keep ? std::next(it) : loaded_.erase(it);
  }
  experiments_.store(std::make_shared<const std::vector<ExperimentSpec>>(*std::move(running)));
  return absl::OkStatus();
}

absl::Status ModelManager::Bootstrap() {
  auto promoted = registry_.Promoted();
  if (!promoted.ok()) return promoted.status();
  if (promoted->has_value()) return absl::OkStatus();
  auto data = LoadTrainingData(*pool_);
  if (!data.ok()) return data.status();
  if (data->log.events.empty()) return absl::FailedPreconditionError("no interactions collected yet");
  ++bootstrap_runs_;
  TrainConfig config = options_.bootstrap_config;
  auto trained =
      TrainBundle({.log = &data->log, .catalog = &data->catalog, .user_region = &data->user_region}, config);
  if (!trained.ok()) return trained.status();
  if (absl::Status s = MakeDirs(options_.artifact_dir); !s.ok()) return s;
  const std::string path = absl::StrCat(options_.artifact_dir, "/", trained->bundle.version, ".mlrec");
  if (absl::Status s = WriteBundleFile(trained->bundle, path); !s.ok()) return s;
  if (absl::Status s = registry_.Register(RecordFromBundle(trained->bundle, absl::StrCat("file://", path)));
      !s.ok() && s.code() != absl::StatusCode::kAlreadyExists) {
    return s;
  }
  // Another replica may have bootstrapped meanwhile: promote only while nothing is promoted.
  auto again = registry_.Promoted();
  if (again.ok() && !again->has_value()) {
    if (auto p = registry_.Promote(trained->bundle.version); !p.ok()) return p.status();
    logging::Info("bootstrap model trained and promoted",
                  {{"version", trained->bundle.version}, {"seconds", trained->seconds}});
  }
  return RefreshModel();
}

void ModelManager::Start() {
  if (absl::Status s = RefreshCatalog(); !s.ok()) logging::Warn("catalogue not loaded", {{"error", s}});
  if (absl::Status s = RefreshModel(); !s.ok()) logging::Warn("model not loaded", {{"error", s}});
  if (absl::Status s = RefreshExperiments(); !s.ok()) logging::Warn("experiments not loaded", {{"error", s}});
  thread_ = std::thread([this] { Loop(); });
}

void ModelManager::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ModelManager::Loop() {
  absl::Time next_model = absl::Now() + options_.poll_interval;
  absl::Time next_catalog = absl::Now() + options_.catalog_interval;
  absl::Time next_experiments = absl::Now() + options_.experiments_interval;
  absl::Time next_bootstrap = absl::Now();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      const absl::Time wake = std::min({next_model, next_catalog, next_experiments});
      auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
      mu_.AwaitWithDeadline(absl::Condition(&stopping), wake);
      if (stop_) return;
    }
    const absl::Time now = absl::Now();
    if (now >= next_model) {
      (void)RefreshModel();
      next_model = now + options_.poll_interval;
      if (options_.bootstrap_train && Current() == nullptr && now >= next_bootstrap) {
        if (absl::Status s = Bootstrap(); !s.ok()) {
          logging::Info("no model yet; bootstrap training postponed", {{"reason", s}});
        }
        next_bootstrap = absl::Now() + options_.bootstrap_retry;
      }
    }
    if (now >= next_catalog) {
      if (absl::Status s = RefreshCatalog(); !s.ok())
        logging::Warn("catalogue refresh failed", {{"error", s}});
      next_catalog = now + options_.catalog_interval;
    }
    if (now >= next_experiments) {
      if (absl::Status s = RefreshExperiments(); !s.ok())
        logging::Warn("experiments refresh failed", {{"error", s}});
      next_experiments = now + options_.experiments_interval;
    }
  }
}

ModelManager::Stats ModelManager::stats() const {
  return {reloads_.load(), reload_failures_.load(), bootstrap_runs_.load()};
}

}  // namespace marketlens::recommender
