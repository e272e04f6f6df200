#include "services/recommender/cli_commands.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status/macros.h"
#include "nlohmann/json.hpp"
#include "services/recommender/algo/factory.h"
#include "services/recommender/bundle/trainer.h"
#include "services/recommender/cli_flags.h"
#include "services/recommender/cli_registry.h"
#include "services/recommender/data/public_datasets.h"
#include "services/recommender/data/synthetic.h"
#include "services/recommender/eval/blend.h"
#include "services/recommender/eval/report.h"
#include "services/recommender/eval/split.h"
#include "services/recommender/eval/tuning.h"

// The flags of every command (Abseil flags, parsed in cli.cc); the Postgres ones are in cli_registry.cc.
// A command refuses the flags of the others (RejectOtherCommandsFlags).
ABSL_FLAG(std::string, input, "", "evaluate, train: the interactions file (--format)");
ABSL_FLAG(std::string, train, "", "evaluate: the training file (with --test)");
ABSL_FLAG(std::string, test, "", "evaluate: the test file (with --train)");
ABSL_FLAG(std::string, format, "interactions",
          "evaluate, train: the input's format: interactions (u.data-like), online_retail (UCI Online Retail "
          "CSV) or amazon (5-core JSON lines)");
ABSL_FLAG(double, min_rating, 0, "evaluate, train: drop ratings below this");
ABSL_FLAG(std::string, split, "temporal", "evaluate --input: temporal or random");
ABSL_FLAG(int64_t, leave_last, 1, "evaluate --split temporal: test events per user");
ABSL_FLAG(double, test_fraction, 0.2,
          "evaluate --split random: the test share of each user's events, (0, 1)");
ABSL_FLAG(int64_t, seed, 1, "evaluate --split random, generate: random seed");
ABSL_FLAG(
    std::string, items, "",
    "evaluate, train: the items file (MovieLens u.item or item<TAB>category<TAB>title...); generate: how "
    "many items (default 200)");
ABSL_FLAG(int64_t, k, 10, "evaluate, train: the cut-off of the metrics (1..1000)");
ABSL_FLAG(std::string, algorithms, "", "evaluate: comma-separated algorithms (default: all)");
ABSL_FLAG(std::string, algorithm, "hybrid", "train: hybrid, als, item_knn, popularity, two_tower or ncf");
ABSL_FLAG(std::string, params, "",
          "evaluate, train: hyper-parameters, e.g. als.factors=64,item_knn.neighbors=50");
ABSL_FLAG(bool, tune, false,
          "evaluate, train: tune hyper-parameters on a validation split of the training side");
ABSL_FLAG(int64_t, tune_trials, 27, "evaluate --tune: candidates per algorithm");
ABSL_FLAG(double, tune_seconds, 0, "evaluate --tune: time budget per algorithm (0: none)");
ABSL_FLAG(double, relevance_min_rating, 0, "evaluate: test ratings below this are not relevant");
ABSL_FLAG(int64_t, max_users, 0, "evaluate: evaluate at most this many users (0: all)");
ABSL_FLAG(int64_t, threads, 0, "evaluate, train: worker threads (0: hardware concurrency)");
ABSL_FLAG(int64_t, min_user_interactions, 5, "evaluate, train: hygiene: users with fewer are dropped");
ABSL_FLAG(int64_t, min_item_interactions, 5, "evaluate, train: hygiene: items with fewer are dropped");
ABSL_FLAG(int64_t, bot_max_events_per_minute, 300, "evaluate, train: hygiene: faster users are bots");
ABSL_FLAG(int64_t, duplicate_window_seconds, 1,
          "evaluate, train: hygiene: repeats within this are one event");
ABSL_FLAG(bool, json, false, "evaluate, train, models list: print JSON");
ABSL_FLAG(std::string, source, "", "train: file or postgres (default: file with --input, else postgres)");
ABSL_FLAG(double, recent_window_days, 7, "train: the window of the trending signal, in days");
ABSL_FLAG(bool, no_evaluate, false, "train: skip the holdout evaluation");
ABSL_FLAG(std::string, version, "", "train: the model's version (default: from the time)");
ABSL_FLAG(std::string, output, "", "train: write the artifact here; generate: the interactions file");
ABSL_FLAG(bool, register, false, "train: register the model (artifact stored in Postgres)");
ABSL_FLAG(bool, promote, false, "train: register and promote the model");
ABSL_FLAG(std::string, items_output, "", "generate: also write the items file here");
ABSL_FLAG(int64_t, users, 500, "generate: how many users");
ABSL_FLAG(int64_t, clusters, 5, "generate: planted taste clusters (1..items)");
ABSL_FLAG(double, events_per_user, 20, "generate: mean events per user");
ABSL_FLAG(double, in_cluster, 0.9, "generate: share of a user's events inside their cluster");
ABSL_FLAG(bool, shop, false, "generate: shop events (views, carts, purchases) besides ratings");

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

const std::set<std::string>& HygieneFlags() {
  static const auto* names =
      new std::set<std::string>{"min_user_interactions", "min_item_interactions", "bot_max_events_per_minute",
                                "duplicate_window_seconds"};
  return *names;
}

// Hygiene flags shared by evaluate and train.
HygieneOptions HygieneFromFlags() {
  HygieneOptions h;
  h.min_user_interactions = static_cast<int>(absl::GetFlag(FLAGS_min_user_interactions));
  h.min_item_interactions = static_cast<int>(absl::GetFlag(FLAGS_min_item_interactions));
  h.bot_max_events_per_minute = static_cast<int>(absl::GetFlag(FLAGS_bot_max_events_per_minute));
  h.duplicate_window_seconds = absl::GetFlag(FLAGS_duplicate_window_seconds);
  return h;
}

// --format interactions (u.data-like, the default) | online_retail (UCI Online Retail CSV) | amazon (5-core
// JSON lines). The public formats also yield a catalogue (titles, categories, price buckets), merged into
// `catalog` when given.
absl::StatusOr<InteractionLog> ReadLog(const std::string& path, ItemCatalog* catalog = nullptr) {
  const double min_rating = absl::GetFlag(FLAGS_min_rating);
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format == "interactions") {
    return ReadInteractionsFile(path, {.min_rating = static_cast<float>(min_rating)});
  }
  PublicDataset d;
  if (format == "online_retail") {
    ASSIGN_OR_RETURN(d, ReadOnlineRetailCsv(path));
  } else if (format == "amazon") {
    ASSIGN_OR_RETURN(d, ReadAmazonReviewsJson(path));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--format must be interactions, online_retail or amazon, got `", format, "`"));
  }
  if (catalog != nullptr) {
    for (auto& [id, info] : d.catalog) catalog->try_emplace(id, std::move(info));
  }
  if (min_rating > 0) {
    InteractionLog kept;
    for (const Event& e : d.log.events) {
      if (e.type == EventType::kRating && e.value < min_rating) continue;
      kept.Add(d.log.users.Name(e.user), d.log.items.Name(e.item), e.type, e.value, e.timestamp,
               e.session >= 0 ? d.log.sessions.Name(e.session) : "");
    }
    return kept;
  }
  return std::move(d.log);
}

int Evaluate(std::ostream& out, std::ostream& err) {
  if (RejectOtherCommandsFlags("evaluate",
                               Union({"train",
                                      "test",
                                      "input",
                                      "format",
                                      "min_rating",
                                      "split",
                                      "leave_last",
                                      "test_fraction",
                                      "seed",
                                      "items",
                                      "k",
                                      "algorithms",
                                      "params",
                                      "tune",
                                      "tune_trials",
                                      "tune_seconds",
                                      "relevance_min_rating",
                                      "max_users",
                                      "threads",
                                      "json"},
                                     HygieneFlags()),
                               err)) {
    return kUsage;
  }
  const bool json = absl::GetFlag(FLAGS_json);
  const std::string train_file = absl::GetFlag(FLAGS_train), test_file = absl::GetFlag(FLAGS_test),
                    input_file = absl::GetFlag(FLAGS_input), items_file = absl::GetFlag(FLAGS_items);
  InteractionLog train, test;
  std::string protocol;
  ItemCatalog format_catalog;  // from --format online_retail|amazon
  if (!train_file.empty() || !test_file.empty()) {
    if (train_file.empty() || test_file.empty() || !input_file.empty()) {
      err << "evaluate: give --train and --test together (or --input with --split)\n";
      return kUsage;
    }
    auto tr = ReadLog(train_file, &format_catalog);
    if (!tr.ok()) return err << tr.status().message() << "\n", kFailed;
    auto te = ReadLog(test_file, &format_catalog);
    if (!te.ok()) return err << te.status().message() << "\n", kFailed;
    train = *std::move(tr);
    test = *std::move(te);
    protocol = "explicit train/test files";
  } else if (!input_file.empty()) {
    auto log = ReadLog(input_file, &format_catalog);
    if (!log.ok()) return err << log.status().message() << "\n", kFailed;
    const std::string split = absl::GetFlag(FLAGS_split);
    if (split == "random") {
      const double fraction = absl::GetFlag(FLAGS_test_fraction);
      const int64_t seed = absl::GetFlag(FLAGS_seed);
      if (fraction <= 0 || fraction >= 1) {
        err << "evaluate: --test_fraction must be in (0, 1)\n";
        return kUsage;
      }
      Split s = RandomPerUser(*log, fraction, static_cast<uint64_t>(seed));
      train = std::move(s.train);
      test = std::move(s.test);
      protocol = absl::StrFormat("random %.0f%% per user (seed %d)", fraction * 100, seed);
    } else if (split == "temporal") {
      const int64_t n = absl::GetFlag(FLAGS_leave_last);
      if (n < 1) {
        err << "evaluate: --leave_last must be >= 1\n";
        return kUsage;
      }
      Split s = TemporalLeaveLastN(*log, static_cast<int>(n));
      train = std::move(s.train);
      test = std::move(s.test);
      protocol = absl::StrCat("temporal leave-last-", n, " per user");
    } else {
      err << "evaluate: --split must be random or temporal, got `" << split << "`\n";
      return kUsage;
    }
  } else {
    err << "evaluate: give --input F (with --split) or --train F --test F\n";
    return kUsage;
  }

  std::optional<ItemCatalog> catalog;
  if (!items_file.empty()) {
    auto c = ReadItemsFile(items_file);
    if (!c.ok()) return err << c.status().message() << "\n", kFailed;
    catalog = *std::move(c);
  }
  const int64_t k = absl::GetFlag(FLAGS_k);
  const int64_t trials = absl::GetFlag(FLAGS_tune_trials);
  const double tune_seconds = absl::GetFlag(FLAGS_tune_seconds);
  auto params = ParseParams(absl::GetFlag(FLAGS_params));
  if (!params.ok()) return err << "evaluate: " << params.status().message() << "\n", kUsage;
  if (k < 1 || k > 1000) return err << "evaluate: --k must be 1..1000\n", kUsage;
  std::vector<std::string> algorithms = AlgorithmNames();
  if (const std::string names = absl::GetFlag(FLAGS_algorithms); !names.empty()) {
    algorithms = absl::StrSplit(names, ',', absl::SkipWhitespace());
  }
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
  const bool tune = absl::GetFlag(FLAGS_tune);

  EvalOptions options;
  options.k = static_cast<int>(k);
  options.hygiene = HygieneFromFlags();
  options.relevance_min_rating = static_cast<float>(absl::GetFlag(FLAGS_relevance_min_rating));
  options.threads = static_cast<int>(absl::GetFlag(FLAGS_threads));
  options.max_users = static_cast<int>(absl::GetFlag(FLAGS_max_users));
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
      TuningOptions t{.max_trials = static_cast<int>(trials), .time_budget_seconds = tune_seconds};
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

int Train(std::ostream& out, std::ostream& err) {
  if (RejectOtherCommandsFlags(
          "train",
          Union(Union({"input", "items", "format", "min_rating", "source", "algorithm", "params", "tune",
                       "threads", "recent_window_days", "k", "no_evaluate", "version", "output", "register",
                       "promote", "json"},
                      HygieneFlags()),
                RegistryCliFlags()),
          err)) {
    return kUsage;
  }
  const bool json = absl::GetFlag(FLAGS_json);
  const std::string input_file = absl::GetFlag(FLAGS_input), items_file = absl::GetFlag(FLAGS_items);
  TrainConfig config;
  config.algorithm = absl::GetFlag(FLAGS_algorithm);
  auto params = ParseParams(absl::GetFlag(FLAGS_params));
  if (!params.ok()) return err << "train: " << params.status().message() << "\n", kUsage;
  config.params = *params;
  config.hygiene = HygieneFromFlags();
  config.threads = static_cast<int>(absl::GetFlag(FLAGS_threads));
  config.recent_window_seconds = static_cast<int64_t>(absl::GetFlag(FLAGS_recent_window_days) * 86400);
  config.eval_k = static_cast<int>(absl::GetFlag(FLAGS_k));
  config.evaluate = !absl::GetFlag(FLAGS_no_evaluate);
  config.version = absl::GetFlag(FLAGS_version);

  // Source: a file, or Postgres (the job in the cluster).
  InteractionLog log;
  ItemCatalog catalog;
  absl::flat_hash_map<std::string, std::string> regions;
  std::string source = absl::GetFlag(FLAGS_source);
  if (source.empty()) source = input_file.empty() ? "postgres" : "file";
  const bool from_postgres = source == "postgres";
  if (!from_postgres) {
    if (input_file.empty())
      return err << "train: give --input F (or --source=postgres --pg_dsn ...)\n", kUsage;
    auto l = ReadLog(input_file, &catalog);
    if (!l.ok()) return err << l.status().message() << "\n", kFailed;
    log = *std::move(l);
    if (!items_file.empty()) {
      auto c = ReadItemsFile(items_file);
      if (!c.ok()) return err << c.status().message() << "\n", kFailed;
      catalog = *std::move(c);
    }
  }
  RegistryCliOptions registry;
  if (absl::Status s = RegistryCliOptionsFromFlags(registry); !s.ok())
    return err << "train: " << s.message() << "\n", kUsage;
  const bool promote = absl::GetFlag(FLAGS_promote);
  const bool do_register = absl::GetFlag(FLAGS_register) || promote;
  const bool tune = absl::GetFlag(FLAGS_tune);
  const std::string output = absl::GetFlag(FLAGS_output);
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
    nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
    for (const auto& [key, v] : b.metrics) metrics[key] = JsonFigure(v);
    const nlohmann::ordered_json line = {
        {"version", b.version},         {"algorithm", b.algorithm}, {"artifact", artifact},
        {"users", b.num_users()},       {"items", b.num_items()},   {"seconds", JsonFigure(result->seconds)},
        {"metrics", std::move(metrics)}};
    out << line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
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

int Generate(std::ostream& out, std::ostream& err) {
  if (RejectOtherCommandsFlags("generate",
                               {"output", "items_output", "users", "items", "clusters", "events_per_user",
                                "in_cluster", "shop", "seed"},
                               err)) {
    return kUsage;
  }
  SyntheticOptions o;
  // --items is a file for evaluate and train, a count here.
  int64_t items = o.items;
  if (const std::string text = absl::GetFlag(FLAGS_items); !text.empty() && !absl::SimpleAtoi(text, &items)) {
    return err << "generate: --items=`" << text << "` is not an integer\n", kUsage;
  }
  const int64_t users = absl::GetFlag(FLAGS_users), clusters = absl::GetFlag(FLAGS_clusters);
  const std::string output = absl::GetFlag(FLAGS_output), items_output = absl::GetFlag(FLAGS_items_output);
  o.shop_events = absl::GetFlag(FLAGS_shop);
  if (output.empty()) return err << "generate: --output FILE is required\n", kUsage;
  if (users < 1 || items < 1 || clusters < 1 || clusters > items) {
    return err << "generate: need users >= 1, items >= 1, 1 <= clusters <= items\n", kUsage;
  }
  o.users = static_cast<int>(users);
  o.items = static_cast<int>(items);
  o.clusters = static_cast<int>(clusters);
  o.events_per_user = absl::GetFlag(FLAGS_events_per_user);
  o.in_cluster = absl::GetFlag(FLAGS_in_cluster);
  o.seed = static_cast<uint64_t>(absl::GetFlag(FLAGS_seed));
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
  return R"(usage: cli <command> [flags]      (--help lists every flag)

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
  if (args.empty()) {
    err << CliUsage();
    return kUsage;
  }
  const std::string& command = args[0];
  const std::vector<std::string> positional(args.begin() + 1, args.end());
  if (command == "help") {
    out << CliUsage();
    return kOk;
  }
  if (command == "evaluate") return Evaluate(out, err);
  if (command == "train") return Train(out, err);
  if (command == "generate") return Generate(out, err);
  if (command == "models") return RunModelsCommand(positional, out, err);
  if (command == "retention") return RunRetentionCommand(out, err);
  err << "unknown command `" << command << "`\n" << CliUsage();
  return kUsage;
}

}  // namespace marketlens::recommender
