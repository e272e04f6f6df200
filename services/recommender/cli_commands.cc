#include "services/recommender/cli_commands.h"

#include <memory>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/recommender/algo/factory.h"
#include "services/recommender/bundle/trainer.h"
#include "services/recommender/cli_args.h"
#include "services/recommender/cli_registry.h"
#include "services/recommender/data/public_datasets.h"
#include "services/recommender/data/synthetic.h"
#include "services/recommender/eval/blend.h"
#include "services/recommender/eval/report.h"
#include "services/recommender/eval/split.h"
#include "services/recommender/eval/tuning.h"

namespace marketlens::recommender {
namespace {

constexpr int kOk = 0, kFailed = 1, kUsage = 2;

struct Failure {
  int code;
  std::string message;
};

Params Prefixed(const Params& params, absl::string_view prefix) {
  Params out;
  const std::string p = absl::StrCat(prefix, ".");
  for (const auto& [k, v] : params) {
    if (absl::StartsWith(k, p)) out[k.substr(p.size())] = v;
  }
  return out;
}

// Hygiene flags shared by evaluate and train.
absl::StatusOr<HygieneOptions> HygieneFromArgs(const CliArgs& a) {
  HygieneOptions h;
  auto min_user = a.GetInt("min_user_interactions", 5);
  auto min_item = a.GetInt("min_item_interactions", 5);
  auto bots = a.GetInt("bot_max_events_per_minute", 300);
  auto dup = a.GetInt("duplicate_window_seconds", 1);
  for (const auto* s : {&min_user, &min_item, &bots, &dup}) {
    if (!s->ok()) return s->status();
  }
  h.min_user_interactions = static_cast<int>(*min_user);
  h.min_item_interactions = static_cast<int>(*min_item);
  h.bot_max_events_per_minute = static_cast<int>(*bots);
  h.duplicate_window_seconds = *dup;
  return h;
}

// --format interactions (u.data-like, the default) | online_retail (UCI Online Retail CSV) | amazon (5-core
// JSON lines). The public formats also yield a catalogue (titles, categories, price buckets), merged into
// `catalog` when given.
absl::StatusOr<InteractionLog> ReadLog(const CliArgs& a, const std::string& flag,
                                       ItemCatalog* catalog = nullptr) {
  auto min_rating = a.GetDouble("min_rating", 0);
  if (!min_rating.ok()) return min_rating.status();
  const std::string format = a.Get("format", "interactions");
  if (format == "interactions") {
    return ReadInteractionsFile(a.Get(flag), {.min_rating = static_cast<float>(*min_rating)});
  }
  absl::StatusOr<PublicDataset> d;
  if (format == "online_retail") {
    d = ReadOnlineRetailCsv(a.Get(flag));
  } else if (format == "amazon") {
    d = ReadAmazonReviewsJson(a.Get(flag));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--format must be interactions, online_retail or amazon, got `", format, "`"));
  }
  if (!d.ok()) return d.status();
  if (catalog != nullptr) {
    for (auto& [id, info] : d->catalog) catalog->try_emplace(id, std::move(info));
  }
  if (*min_rating > 0) {
    InteractionLog kept;
    for (const Event& e : d->log.events) {
      if (e.type == EventType::kRating && e.value < *min_rating) continue;
      kept.Add(d->log.users.Name(e.user), d->log.items.Name(e.item), e.type, e.value, e.timestamp,
               e.session >= 0 ? d->log.sessions.Name(e.session) : "");
    }
    return kept;
  }
  return std::move(d->log);
}

int Evaluate(const CliArgs& a, std::ostream& out, std::ostream& err) {
  const bool json = a.GetBool("json");
  InteractionLog train, test;
  std::string protocol;
  ItemCatalog format_catalog;  // from --format online_retail|amazon
  if (a.Has("train") || a.Has("test")) {
    if (!a.Has("train") || !a.Has("test") || a.Has("input")) {
      err << "evaluate: give --train and --test together (or --input with --split)\n";
      return kUsage;
    }
    auto tr = ReadLog(a, "train", &format_catalog);
    if (!tr.ok()) return err << tr.status().message() << "\n", kFailed;
    auto te = ReadLog(a, "test", &format_catalog);
    if (!te.ok()) return err << te.status().message() << "\n", kFailed;
    train = *std::move(tr);
    test = *std::move(te);
    protocol = "explicit train/test files";
  } else if (a.Has("input")) {
    auto log = ReadLog(a, "input", &format_catalog);
    if (!log.ok()) return err << log.status().message() << "\n", kFailed;
    const std::string split = a.Get("split", "temporal");
    if (split == "random") {
      auto fraction = a.GetDouble("test_fraction", 0.2);
      auto seed = a.GetInt("seed", 1);
      if (!fraction.ok() || !seed.ok() || *fraction <= 0 || *fraction >= 1) {
        err << "evaluate: --test_fraction must be in (0, 1)\n";
        return kUsage;
      }
      Split s = RandomPerUser(*log, *fraction, static_cast<uint64_t>(*seed));
      train = std::move(s.train);
      test = std::move(s.test);
      protocol = absl::StrFormat("random %.0f%% per user (seed %d)", *fraction * 100, *seed);
    } else if (split == "temporal") {
      auto n = a.GetInt("leave_last", 1);
      if (!n.ok() || *n < 1) {
        err << "evaluate: --leave_last must be >= 1\n";
        return kUsage;
      }
      Split s = TemporalLeaveLastN(*log, static_cast<int>(*n));
      train = std::move(s.train);
      test = std::move(s.test);
      protocol = absl::StrCat("temporal leave-last-", *n, " per user");
    } else {
      err << "evaluate: --split must be random or temporal, got `" << split << "`\n";
      return kUsage;
    }
  } else {
    err << "evaluate: give --input F (with --split) or --train F --test F\n";
    return kUsage;
  }

  std::optional<ItemCatalog> catalog;
  if (a.Has("items")) {
    auto c = ReadItemsFile(a.Get("items"));
    if (!c.ok()) return err << c.status().message() << "\n", kFailed;
    catalog = *std::move(c);
  }
  auto hygiene = HygieneFromArgs(a);
  auto k = a.GetInt("k", 10);
  auto threads = a.GetInt("threads", 0);
  auto relevance = a.GetDouble("relevance_min_rating", 0);
  auto max_users = a.GetInt("max_users", 0);
  auto trials = a.GetInt("tune_trials", 27);
  auto tune_seconds = a.GetDouble("tune_seconds", 0);
  auto params = ParseParams(a.Get("params"));
  for (const absl::Status& s :
       {hygiene.status(), k.status(), threads.status(), relevance.status(), max_users.status(),
        trials.status(), tune_seconds.status(), params.status()}) {
    if (!s.ok()) return err << "evaluate: " << s.message() << "\n", kUsage;
  }
  if (*k < 1 || *k > 1000) return err << "evaluate: --k must be 1..1000\n", kUsage;
  std::vector<std::string> algorithms = AlgorithmNames();
  if (a.Has("algorithms")) algorithms = absl::StrSplit(a.Get("algorithms"), ',', absl::SkipWhitespace());
  for (const std::string& name : algorithms) {
    if (std::find(AlgorithmNames().begin(), AlgorithmNames().end(), name) == AlgorithmNames().end()) {
      err << "evaluate: unknown algorithm `" << name << "` (known: " << absl::StrJoin(AlgorithmNames(), ", ")
          << ")\n";
      return kUsage;
    }
  }
  if (std::find(algorithms.begin(), algorithms.end(), "popularity") == algorithms.end()) {
    algorithms.insert(algorithms.begin(), "popularity");  // the baseline is always reported
  }
  // The hybrid blends the others, so it comes last.
  const bool with_hybrid = std::find(algorithms.begin(), algorithms.end(), "hybrid") != algorithms.end();
  algorithms.erase(std::remove(algorithms.begin(), algorithms.end(), "hybrid"), algorithms.end());
  const bool tune = a.GetBool("tune");
  for (const std::string& unused : a.Unused()) {
    err << "evaluate: unknown flag --" << unused << "\n";
    return kUsage;
  }

  EvalOptions options;
  options.k = static_cast<int>(*k);
  options.hygiene = *hygiene;
  options.relevance_min_rating = static_cast<float>(*relevance);
  options.threads = static_cast<int>(*threads);
  options.max_users = static_cast<int>(*max_users);
  options.build.include_catalog_items = catalog.has_value();
  if (!catalog && !format_catalog.empty()) catalog = std::move(format_catalog);
  const ItemCatalog* catalog_ptr = catalog ? &*catalog : nullptr;
  auto data = PrepareEvaluation(train, test, catalog_ptr, options);
  if (!data.ok()) return err << "evaluate: " << data.status().message() << "\n", kFailed;

  // Tuning and the hybrid's blend weights use a validation split carved from the training side only.
  // The hybrid learns its weights on 5 such splits (cross-fitting, eval/blend.h); the first is tuning's.
  std::vector<EvalData> folds;
  const EvalData* validation = nullptr;
  if (tune || with_hybrid) {
    auto v = BlendValidationFolds(train, catalog_ptr, options, with_hybrid ? 5 : 1);
    if (!v.ok()) return err << "evaluate: validation split: " << v.status().message() << "\n", kFailed;
    folds = *std::move(v);
    validation = &folds[0];
  }
  std::vector<AlgorithmResult> results;
  std::vector<std::pair<std::string, Params>> members;
  for (const std::string& name : algorithms) {
    Params p = Prefixed(*params, name);
    int tuning_trials = 0;
    double validation_ndcg = 0;
    if (tune) {
      if (!json) err << "tuning " << name << "...\n";
      TuningOptions t{.max_trials = static_cast<int>(*trials), .time_budget_seconds = *tune_seconds};
      auto tuned = TuneOn(name, *validation, p, options, t);
      if (tuned.ok()) {
        p = tuned->best;
        tuning_trials = static_cast<int>(tuned->trials.size());
        validation_ndcg = tuned->best_ndcg;
        if (!json && tuning_trials > 0) err << "  chose " << DescribeTuning(*tuned, options.k) << "\n";
      } else if (!json) {
        err << "  not tuned: " << tuned.status().message() << "\n";
      }
    }
    if (!json) err << "fitting " << name << "...\n";
    auto r = EvaluateAlgorithms(*data, {{name, p}}, options);
    r[0].tuning_trials = tuning_trials;
    r[0].validation_ndcg = validation_ndcg;
    if (r[0].status.ok()) members.push_back({name, p});
    results.push_back(std::move(r[0]));
  }
  if (with_hybrid) {
    if (!json) err << "blending " << members.size() << " models on validation...\n";
    std::vector<const EvalData*> fold_views;
    for (const EvalData& f : folds) fold_views.push_back(&f);
    auto hybrid = EvaluateLearnedHybrid(members, fold_views, *data, options);
    if (hybrid.ok()) {
      results.push_back(hybrid->result);
    } else {
      AlgorithmResult failed;
      failed.name = "hybrid";
      failed.status = hybrid.status();
      results.push_back(failed);
    }
  }
  ReportContext context{.protocol = protocol, .k = options.k, .data = &*data};
  out << (json ? FormatJson(results, context) : FormatTable(results, context)) << (json ? "\n" : "");
  return kOk;
}

int Train(const CliArgs& a, std::ostream& out, std::ostream& err) {
  const bool json = a.GetBool("json");
  TrainConfig config;
  config.algorithm = a.Get("algorithm", "hybrid");
  auto params = ParseParams(a.Get("params"));
  auto hygiene = HygieneFromArgs(a);
  auto threads = a.GetInt("threads", 0);
  auto window = a.GetDouble("recent_window_days", 7);
  auto k = a.GetInt("k", 10);
  for (const absl::Status& s :
       {params.status(), hygiene.status(), threads.status(), window.status(), k.status()}) {
    if (!s.ok()) return err << "train: " << s.message() << "\n", kUsage;
  }
  config.params = *params;
  config.hygiene = *hygiene;
  config.threads = static_cast<int>(*threads);
  config.recent_window_seconds = static_cast<int64_t>(*window * 86400);
  config.eval_k = static_cast<int>(*k);
  config.evaluate = !a.GetBool("no_evaluate");
  config.version = a.Get("version");

  // Source: a file, or Postgres (the job in the cluster).
  InteractionLog log;
  ItemCatalog catalog;
  absl::flat_hash_map<std::string, std::string> regions;
  const bool from_postgres = a.Get("source", a.Has("input") ? "file" : "postgres") == "postgres";
  if (!from_postgres) {
    if (!a.Has("input")) return err << "train: give --input F (or --source=postgres --pg_dsn ...)\n", kUsage;
    auto l = ReadLog(a, "input", &catalog);
    if (!l.ok()) return err << l.status().message() << "\n", kFailed;
    log = *std::move(l);
    if (a.Has("items")) {
      auto c = ReadItemsFile(a.Get("items"));
      if (!c.ok()) return err << c.status().message() << "\n", kFailed;
      catalog = *std::move(c);
    }
  }
  RegistryCliOptions registry;
  if (absl::Status s = ParseRegistryCliOptions(a, registry); !s.ok())
    return err << "train: " << s.message() << "\n", kUsage;
  const bool promote = a.GetBool("promote");
  const bool do_register = a.GetBool("register") || promote;
  const bool tune = a.GetBool("tune");
  const std::string output = a.Get("output");
  for (const std::string& unused : a.Unused()) {
    err << "train: unknown flag --" << unused << "\n";
    return kUsage;
  }
  if (output.empty() && !do_register) return err << "train: give --output FILE and/or --register\n", kUsage;
  if ((from_postgres || do_register) && registry.pg_dsn.empty()) {
    return err << "train: --pg_dsn (or MARKETLENS_PG_DSN) is required with Postgres or --register\n", kUsage;
  }
  if (from_postgres) {
    absl::Status s = LoadTrainingInputFromPostgres(registry, log, catalog, regions, err);
    if (!s.ok()) return err << "train: " << s.message() << "\n", kFailed;
  }
  if (tune) {
    // The chosen values go into config.params, so they are stored with the model (bundle params, registry).
    std::vector<std::string> tuned_parts;
    if (config.algorithm == "hybrid" || config.algorithm == "als") tuned_parts.push_back("als");
    if (config.algorithm == "hybrid" || config.algorithm == "item_knn") tuned_parts.push_back("item_knn");
    if (config.algorithm == "two_tower") tuned_parts.push_back("two_tower");
    if (config.algorithm == "ncf") tuned_parts.push_back("ncf");
    EvalOptions eval{.k = config.eval_k, .hygiene = config.hygiene, .threads = config.threads};
    for (const std::string& part : tuned_parts) {
      auto tuned = Tune(part, log, catalog.empty() ? nullptr : &catalog, Prefixed(config.params, part), eval,
                        {.max_trials = 27, .time_budget_seconds = 300});
      if (!tuned.ok()) {
        err << "train: not tuned " << part << ": " << tuned.status().message() << "\n";
        continue;
      }
      if (!json) err << "tuned " << part << ": " << DescribeTuning(*tuned, config.eval_k) << "\n";
      for (const auto& [k, v] : tuned->best) config.params[absl::StrCat(part, ".", k)] = v;
    }
  }
  TrainInput input{.log = &log,
                   .catalog = catalog.empty() ? nullptr : &catalog,
                   .user_region = regions.empty() ? nullptr : &regions};
  if (!json) err << "training " << config.algorithm << " on " << log.events.size() << " events...\n";
  auto result = TrainBundle(input, config);
  if (!result.ok()) return err << "train: " << result.status().message() << "\n", kFailed;
  const ModelBundle& b = result->bundle;
  std::string artifact = output;
  if (!output.empty()) {
    if (absl::Status s = WriteBundleFile(b, output); !s.ok())
      return err << "train: " << s.message() << "\n", kFailed;
  }
  if (do_register) {
    absl::StatusOr<std::string> uri = RegisterTrainedModel(registry, b, promote, err);
    if (!uri.ok()) return err << "train: " << uri.status().message() << "\n", kFailed;
    artifact = *uri;
  }
  if (json) {
    std::vector<std::string> metrics;
    for (const auto& [key, v] : b.metrics) metrics.push_back(absl::StrCat("\"", key, "\":", JsonNumber(v)));
    out << "{\"version\":\"" << b.version << "\",\"algorithm\":\"" << b.algorithm << "\",\"artifact\":\""
        << artifact << "\",\"users\":" << b.num_users() << ",\"items\":" << b.num_items()
        << ",\"seconds\":" << JsonNumber(result->seconds) << ",\"metrics\":{" << absl::StrJoin(metrics, ",")
        << "}}\n";
  } else {
    out << "model " << b.version << " (" << b.algorithm << "): " << b.num_users() << " users, "
        << b.num_items() << " items, " << b.user_items.nnz() << " interactions, "
        << absl::StrFormat("%.2f", result->seconds) << " s\n";
    out << "hygiene: " << result->hygiene.ToString() << "\n";
    if (!result->evaluation.empty()) {
      out << FormatTable(result->evaluation,
                         {.protocol = "temporal leave-last-1 holdout", .k = config.eval_k});
    }
    out << "artifact: " << (artifact.empty() ? "(not written)" : artifact) << "\n";
  }
  return kOk;
}

int Generate(const CliArgs& a, std::ostream& out, std::ostream& err) {
  SyntheticOptions o;
  auto users = a.GetInt("users", o.users);
  auto items = a.GetInt("items", o.items);
  auto clusters = a.GetInt("clusters", o.clusters);
  auto events = a.GetDouble("events_per_user", o.events_per_user);
  auto in_cluster = a.GetDouble("in_cluster", o.in_cluster);
  auto seed = a.GetInt("seed", 1);
  for (const absl::Status& s : {users.status(), items.status(), clusters.status(), events.status(),
                                in_cluster.status(), seed.status()}) {
    if (!s.ok()) return err << "generate: " << s.message() << "\n", kUsage;
  }
  const std::string output = a.Get("output"), items_output = a.Get("items_output");
  o.shop_events = a.GetBool("shop");
  for (const std::string& unused : a.Unused())
    return err << "generate: unknown flag --" << unused << "\n", kUsage;
  if (output.empty()) return err << "generate: --output FILE is required\n", kUsage;
  if (*users < 1 || *items < 1 || *clusters < 1 || *clusters > *items) {
    return err << "generate: need users >= 1, items >= 1, 1 <= clusters <= items\n", kUsage;
  }
  o.users = static_cast<int>(*users);
  o.items = static_cast<int>(*items);
  o.clusters = static_cast<int>(*clusters);
  o.events_per_user = *events;
  o.in_cluster = *in_cluster;
  o.seed = static_cast<uint64_t>(*seed);
  SyntheticData s = GenerateSynthetic(o);
  if (absl::Status st = WriteUDataFile(output, s.log); !st.ok()) return err << st.message() << "\n", kFailed;
  if (!items_output.empty()) {
    std::string text;
    for (int i = 0; i < o.items; ++i) {
      const std::string id = absl::StrCat("i", i);
      const ItemInfo& info = s.catalog.at(id);
      absl::StrAppend(&text, id, "\t", info.category, "\t", info.title, "\t", info.description,
                      "\tbrand=", info.brand, "\n");
    }
    FILE* f = std::fopen(items_output.c_str(), "w");
    if (f == nullptr || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0) {
      return err << "generate: cannot write " << items_output << "\n", kFailed;
    }
  }
  out << "wrote " << s.log.events.size() << " events (" << o.users << " users, " << o.items << " items, "
      << o.clusters << " clusters) to " << output << "\n";
  return kOk;
}

}  // namespace

std::string CliUsage() {
  return R"(usage: cli <command> [flags]

evaluate   --train F --test F | --input F [--format interactions|online_retail|amazon] [--split temporal|random] [--leave_last 1] [--test_fraction 0.2] [--seed 1]
           [--items F] [--k 10] [--algorithms popularity,als,...] [--params als.factors=64,item_knn.neighbors=50]
           [--tune [--tune_trials 27] [--tune_seconds 0]] [--relevance_min_rating 0] [--min_rating 0] [--max_users 0] [--threads 0]
           [--min_user_interactions 5] [--min_item_interactions 5] [--bot_max_events_per_minute 300] [--json]
train      --input F [--items F] | --source postgres --pg_dsn DSN
           [--algorithm hybrid|als|item_knn|popularity|two_tower|ncf] [--params ...] [--tune] [--output FILE]
           [--format interactions|online_retail|amazon]
           [--register [--promote] [--keep N] [--artifact_dir DIR]] [--no_evaluate] [--version V] [--json]
           (--register stores the artifact in Postgres, recsys.model_artifacts: every replica loads it)
models     list | promote VERSION | rollback | prune --keep N      (--pg_dsn DSN)
retention  --retention_days N   delete feedback events and exposures older than N days (--pg_dsn DSN)
Postgres:  --pg_dsn DSN (or MARKETLENS_PG_DSN); the password from --pg_password_file F
           (or MARKETLENS_PG_PASSWORD_FILE) or PGPASSWORD
generate   --output F [--items_output F] [--users 500] [--items 200] [--clusters 5] [--events_per_user 20]
           [--in_cluster 0.9] [--shop] [--seed 1]

Interaction files: `user item rating [timestamp [event]]` per line, tab/space/comma separated (MovieLens u.data).
Item files: MovieLens u.item, or `item<TAB>category<TAB>title[<TAB>description[<TAB>k=v;k=v]]`.
)";
}

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto parsed = CliArgs::Parse(args, {"json", "tune", "register", "promote", "no_evaluate", "shop", "help"});
  if (!parsed.ok()) {
    err << parsed.status().message() << "\n" << CliUsage();
    return kUsage;
  }
  const CliArgs& a = *parsed;
  if (a.command().empty() || a.command() == "help" || a.Has("help")) {
    (a.command().empty() ? err : out) << CliUsage();
    return a.command().empty() ? kUsage : kOk;
  }
  if (a.command() == "evaluate") return Evaluate(a, out, err);
  if (a.command() == "train") return Train(a, out, err);
  if (a.command() == "generate") return Generate(a, out, err);
  if (a.command() == "models") return RunModelsCommand(a, out, err);
  if (a.command() == "retention") return RunRetentionCommand(a, out, err);
  err << "unknown command `" << a.command() << "`\n" << CliUsage();
  return kUsage;
}

}  // namespace marketlens::recommender
