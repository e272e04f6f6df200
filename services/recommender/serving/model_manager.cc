#include "services/recommender/serving/model_manager.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging/log.h"
#include "common/status/macros.h"
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
      experiments_(std::make_shared<const std::vector<ExperimentSpec>>()),
      artifacts_(pool) {
  if (options_.metrics != nullptr) {
    age_family_ = &prometheus::BuildGauge()
                       .Name("recommender_model_age_seconds")
                       .Help("Seconds since the model this replica serves was trained (absent: no model yet)")
                       .Register(*options_.metrics);
    trained_family_ = &prometheus::BuildGauge()
                           .Name("recommender_model_trained_timestamp_seconds")
                           .Help("Unix time at which the model this replica serves was trained")
                           .Register(*options_.metrics);
    auto& loads = prometheus::BuildCounter()
                      .Name("recommender_model_loads_total")
                      .Help("Model artifact loads (promoted or experiment models), by result")
                      .Register(*options_.metrics);
    loads_ok_ = &loads.Add({{"result", "ok"}});
    loads_failed_ = &loads.Add({{"result", "failed"}});
  }
}

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

std::string ModelManager::CachePath(const std::string& version) const {
  if (options_.artifact_dir.empty()) return "";
  // The version becomes a file name: only plain names are cached (no '/', no "..").
  const bool plain =
      !version.empty() && version != "." && version != ".." &&
      std::all_of(version.begin(), version.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
  if (!plain) return "";
  return absl::StrCat(options_.artifact_dir, "/cache/", version, ".mlrec");
}

absl::StatusOr<std::string> ModelManager::ReadPgArtifact(const std::string& version) {
  ASSIGN_OR_RETURN(auto info, artifacts_.Stat(version));
  const std::string cache = CachePath(version);
  if (!cache.empty()) {
    if (auto cached = ReadFileBytes(cache); cached.ok()) {
      if (static_cast<int64_t>(cached->size()) == info.size_bytes &&
          ArtifactChecksum(*cached) == info.sha256) {
        ++cache_hits_;
        return cached;
      }
      logging::Warn("cached model artifact does not match Postgres; reading it again",
                    {{"version", version}, {"path", cache}});
    }
  }
  ++cache_misses_;
  auto bytes = artifacts_.Get(version);  // size and SHA-256 verified
  if (!bytes.ok()) return bytes.status();
  if (!cache.empty()) {
    absl::Status s = MakeDirs(absl::StrCat(options_.artifact_dir, "/cache"));
    if (s.ok()) s = WriteFileAtomically(*bytes, cache);
    if (!s.ok() && !cache_warned_.exchange(true)) {
      logging::Warn("model artifact cache not writable; every load reads Postgres", {{"error", s}});
    }
  }
  return bytes;
}

absl::StatusOr<std::shared_ptr<const ServingModel>> ModelManager::Load(const ModelRecord& record) {
  absl::StatusOr<ModelBundle> bundle;
  std::string where;
  if (std::optional<std::string> stored = PgArtifactVersion(record.artifact_uri)) {
    ASSIGN_OR_RETURN(auto bytes, ReadPgArtifact(*stored));
    where = record.artifact_uri;
    bundle = ParseBundle(bytes);
    if (!bundle.ok()) {
      return absl::Status(bundle.status().code(), absl::StrCat(where, ": ", bundle.status().message()));
    }
  } else {
    ASSIGN_OR_RETURN(auto path, ArtifactPath(record.artifact_uri));
    where = path;
    bundle = ReadBundleFile(path);
    if (!bundle.ok()) return bundle.status();
  }
  if (bundle->version != record.version) {
    return absl::DataLossError(
        absl::StrCat("artifact ", where, " holds version ", bundle->version, ", not ", record.version));
  }
  return ServingModel::Create(*std::move(bundle), options_.serving);
}

absl::StatusOr<std::shared_ptr<const ServingModel>> ModelManager::LoadVersion(const std::string& version) {
  if (auto loaded = ForVersion(version)) return loaded;
  absl::MutexLock load_lock(&load_mu_);
  if (auto loaded = ForVersion(version)) return loaded;  // loaded while we waited
  ASSIGN_OR_RETURN(auto record, registry_.Get(version));
  const absl::Time start = absl::Now();
  auto model = Load(record);
  if (!model.ok()) {
    if (loads_failed_ != nullptr) loads_failed_->Increment();
    return model.status();
  }
  if (loads_ok_ != nullptr) loads_ok_->Increment();
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
  absl::MutexLock refresh_lock(&refresh_mu_);
  ASSIGN_OR_RETURN(auto promoted, registry_.Promoted());
  if (!promoted.has_value()) return absl::OkStatus();
  const std::string version = promoted->version;
  {
    std::shared_ptr<const ServingModel> current = current_.load();
    if (current != nullptr && current->version() == version) return absl::OkStatus();
    absl::MutexLock lock(&mu_);
    auto failed = failed_.find(version);
    if (failed != failed_.end() && absl::Now() < failed->second) return absl::OkStatus();
  }
  auto model = LoadVersion(version);
  {
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
  }
  UpdateModelMetrics();
  PruneCache();
  return absl::OkStatus();
}

void ModelManager::UpdateModelMetrics() {
  if (age_family_ == nullptr) return;
  std::shared_ptr<const ServingModel> current = current_.load();
  if (current == nullptr) return;
  const int64_t trained_at = current->bundle().trained_at;
  absl::MutexLock lock(&metrics_mu_);
  if (age_ == nullptr) {
    age_ = &age_family_->Add({});
    trained_ = &trained_family_->Add({});
  }
  trained_->Set(static_cast<double>(trained_at));
  age_->Set(std::max(0.0, absl::ToDoubleSeconds(absl::Now() - absl::FromUnixSeconds(trained_at))));
}

void ModelManager::PruneCache() {
  if (options_.artifact_dir.empty()) return;
  const std::string dir = absl::StrCat(options_.artifact_dir, "/cache");
  absl::MutexLock load_lock(&load_mu_);  // no load is between writing its cache file and registering it
  std::set<std::string> keep;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [version, model] : loaded_) keep.insert(version + ".mlrec");
  }
  if (auto current = current_.load()) keep.insert(current->version() + ".mlrec");
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> remove;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (absl::EndsWith(name, ".mlrec") && !keep.count(name)) remove.push_back(name);
  }
  ::closedir(d);
  for (const std::string& name : remove) ::unlink(absl::StrCat(dir, "/", name).c_str());
}

absl::Status ModelManager::RefreshCatalog() {
  ASSIGN_OR_RETURN(auto catalog, LoadCatalog(*pool_));
  catalog_.store(std::move(catalog));
  return absl::OkStatus();
}

absl::Status ModelManager::RefreshExperiments() {
  ASSIGN_OR_RETURN(auto running, experiments_store_.Running());
  // Load every variant's model; unload models nobody uses any more.
  std::set<std::string> wanted;
  for (const ExperimentSpec& e : running) {
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
  bool unloaded = false;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = loaded_.begin(); it != loaded_.end();) {
      const bool keep = wanted.count(it->first) || (current != nullptr && current->version() == it->first);
      unloaded |= !keep;
      it = keep ? std::next(it) : loaded_.erase(it);
    }
    experiments_.store(std::make_shared<const std::vector<ExperimentSpec>>(std::move(running)));
  }
  if (unloaded) PruneCache();
  return absl::OkStatus();
}

absl::Status ModelManager::Bootstrap() {
  ASSIGN_OR_RETURN(auto promoted, registry_.Promoted());
  if (promoted.has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto data, LoadTrainingData(*pool_));
  if (data.log.events.empty()) return absl::FailedPreconditionError("no interactions collected yet");
  ++bootstrap_runs_;
  TrainConfig config = options_.bootstrap_config;
  auto trained =
      TrainBundle({.log = &data.log, .catalog = &data.catalog, .user_region = &data.user_region}, config);
  if (!trained.ok()) return trained.status();
  // Stored in Postgres with its registry row: every replica (and the next pod) can load it.
  if (auto r = registry_.RegisterWithArtifact(trained->bundle);
      !r.ok() && r.status().code() != absl::StatusCode::kAlreadyExists) {
    return r.status();
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
      UpdateModelMetrics();
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
  return {reloads_.load(), reload_failures_.load(), bootstrap_runs_.load(), cache_hits_.load(),
          cache_misses_.load()};
}

}  // namespace marketlens::recommender
