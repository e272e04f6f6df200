// The analyzer's command line, for scoring the local engine on any data without the service:
//
//   bazel run //services/analyzer:cli -- score [--category=C] < reviews.jsonl > scores.jsonl
//       JSON lines in ({"id", "title", "text", "category", "rating"}, or Amazon's {"reviewerID", "asin",
//       "summary", "reviewText", "overall"}), one JSON line out per input line: id, sentiment, label,
//       aspects, issues (each with its sentence), quality_flags (names) and quality (each flag with the
//       sentence that triggered it); a bad line gives {"line": N, "error": "..."} and the run goes on.
//   bazel run //services/analyzer:cli -- eval FILE [--train REVIEWS.jsonl]
//       FILE has `text<TAB>label` lines (label 0 = negative, 1 = positive). With --train, the weak-label
//       model is first trained on rated reviews (Amazon JSON lines: reviewText, summary, overall) as the
//       service trains it (gated: used only if it beats rules alone on a balanced held-out sample). Prints
//       accuracy=, f1= (of the positive class), balanced_accuracy=, macro_f1=, the confusion matrix, and the
//       same for rules alone.
//   bazel run //services/analyzer:cli -- alerts FILE      quality alerts for a reviews file (cli_alerts.h)
// Exit codes: 0 done, 1 bad input file, 2 usage.
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/logging/log.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "services/analyzer/cli_alerts.h"
#include "services/analyzer/cli_aspects.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/engine/model_gate.h"
#include "services/analyzer/insights/store.h"

ABSL_FLAG(std::string, train, "", "eval: rated reviews (JSON lines) to train the weak-label model on first");
ABSL_FLAG(std::string, category, "", "score: the category when a line has none (picks the aspect taxonomy)");

namespace {

using namespace marketlens;  // NOLINT: main only
using google::protobuf::Struct;
using google::protobuf::Value;
using OrderedJson = nlohmann::ordered_json;

// One JSON line; invalid UTF-8 is replaced, never an exception.
std::string JsonLine(const OrderedJson& j) {
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}
// A document the insights store built (valid JSON), nested as it is.
OrderedJson Document(const std::string& json) {
  return OrderedJson::parse(json, nullptr, /*allow_exceptions=*/false);
}
// The score a line shows, with four decimals as always.
double FourDecimals(double v) {
  double out = 0;
  return absl::SimpleAtod(absl::StrFormat("%.4f", v), &out) ? out : v;
}

std::string Field(const Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  if (it == s.fields().end()) return "";
  if (it->second.kind_case() == Value::kStringValue) return it->second.string_value();
  if (it->second.kind_case() == Value::kNumberValue) return absl::StrCat(it->second.number_value());
  return "";
}

bool ParseLine(const std::string& line, Struct* out, std::string* error) {
  auto st = google::protobuf::util::JsonStringToMessage(line, out);
  if (!st.ok()) {
    *error = st.message().as_string();
    return false;
  }
  return true;
}

int Score(analyzer::Engine& engine) {
  std::string line;
  int64_t n = 0;
  while (std::getline(std::cin, line)) {
    ++n;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    Struct s;
    std::string error;
    if (!ParseLine(line, &s, &error)) {
      std::cout << JsonLine({{"line", n}, {"error", error}}) << "\n";
      continue;
    }
    std::string text = Field(s, "text"), title = Field(s, "title");
    if (text.empty()) text = Field(s, "reviewText");
    if (title.empty()) title = Field(s, "summary");
    std::string id = Field(s, "id");
    if (id.empty())
      id = Field(s, "reviewerID").empty() ? absl::StrCat(n) : Field(s, "reviewerID") + "/" + Field(s, "asin");
    std::string category = Field(s, "category");
    if (category.empty()) category = absl::GetFlag(FLAGS_category);
    double rating = 0;
    if (!absl::SimpleAtod(Field(s, "rating"), &rating)) (void)absl::SimpleAtod(Field(s, "overall"), &rating);
    const analyzer::Analysis a = engine.Analyze(
        {.title = title, .text = text, .category = category, .rating = static_cast<int>(rating)});
    OrderedJson flags = OrderedJson::array();
    for (const analyzer::QualityFlag& f : a.quality_flags) flags.push_back(f.flag);
    const OrderedJson out = {{"id", id},
                             {"sentiment", FourDecimals(a.sentiment)},
                             {"label", a.label},
                             {"aspects", Document(analyzer::AspectsJson(a.aspects))},
                             {"issues", Document(analyzer::IssuesJson(a.issues))},
                             {"quality_flags", std::move(flags)},
                             {"quality", Document(analyzer::QualityJson(a.quality_flags))}};
    std::cout << JsonLine(out) << "\n";
  }
  return 0;
}

struct Confusion {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  void Add(bool truth, bool predicted) { (truth ? (predicted ? tp : fn) : (predicted ? fp : tn))++; }
  void Print(const std::string& name) const {
    const double n = static_cast<double>(tp + fp + tn + fn);
    const double precision = tp + fp ? static_cast<double>(tp) / (tp + fp) : 0;
    const double recall = tp + fn ? static_cast<double>(tp) / (tp + fn) : 0;
    const double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
    const analyzer::BinaryScores b{.tp = tp, .fp = fp, .tn = tn, .fn = fn};
    std::cout << absl::StrFormat(
                     "%s: examples=%d accuracy=%.4f f1=%.4f balanced_accuracy=%.4f macro_f1=%.4f\n", name,
                     static_cast<int64_t>(n), n > 0 ? (tp + tn) / n : 0, f1, b.BalancedAccuracy(),
                     b.MacroF1())
              << absl::StrFormat(
                     "  confusion (rows truth, columns predicted):\n"
                     "            pred=0  pred=1\n  truth=0  %7d %7d\n  truth=1  %7d %7d\n",
                     tn, fp, fn, tp);
  }
};

int Eval(analyzer::Engine& engine, const std::string& file) {
  const std::string train = absl::GetFlag(FLAGS_train);
  if (!train.empty()) {
    std::ifstream in(train);
    if (!in) {
      std::cerr << "cannot read " << train << "\n";
      return 1;
    }
    std::vector<analyzer::RatedText> rated;
    std::string line;
    int64_t bad = 0;
    while (std::getline(in, line)) {
      Struct s;
      std::string error;
      double overall = 0;
      if (!ParseLine(line, &s, &error) || !absl::SimpleAtod(Field(s, "overall"), &overall)) {
        ++bad;
        continue;
      }
      rated.push_back(
          {absl::StrCat(Field(s, "summary"), ".\n", Field(s, "reviewText")), static_cast<int>(overall)});
    }
    auto model = analyzer::TrainGatedModel(engine, rated);
    if (!model.ok()) {
      std::cerr << "training failed: " << model.status() << "\n";
      return 1;
    }
    const analyzer::GateFigures& g = model->info().gate;
    std::cout << absl::StrFormat(
        "trained %s on %d reviews (%d lines skipped), cross-validated balanced accuracy %.4f\n"
        "gate on %d held-out reviews (balanced): rules balanced_accuracy=%.4f macro_f1=%.4f, combined "
        "balanced_accuracy=%.4f macro_f1=%.4f: %s\n",
        model->info().version, model->info().examples, bad, model->info().holdout_balanced_accuracy,
        g.examples, g.rules_balanced_accuracy, g.rules_macro_f1, g.combined_balanced_accuracy,
        g.combined_macro_f1, g.passed ? "passed, model used" : "rejected, rules alone");
    if (g.passed) engine.SetModel(std::make_shared<analyzer::TextModel>(*std::move(model)));
  }
  auto rules = analyzer::Engine::Create();
  std::ifstream in(file);
  if (!in) {
    std::cerr << "cannot read " << file << "\n";
    return 1;
  }
  Confusion combined, rules_only;
  std::string line;
  int64_t n = 0, skipped = 0;
  while (std::getline(in, line)) {
    ++n;
    const size_t tab = line.rfind('\t');
    if (tab == std::string::npos) {
      ++skipped;
      continue;
    }
    const std::string label(absl::StripAsciiWhitespace(line.substr(tab + 1)));
    if (label != "0" && label != "1") {
      ++skipped;
      continue;
    }
    const std::string text = line.substr(0, tab);
    combined.Add(label == "1", engine.Analyze({.text = text}).sentiment > 0);
    rules_only.Add(label == "1", (*rules)->Analyze({.text = text}).sentiment > 0);
  }
  if (skipped > 0) std::cout << "skipped " << skipped << " lines without text<TAB>0|1\n";
  combined.Print(engine.model() ? "combined" : "rules");
  if (engine.model()) rules_only.Print("rules only");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "score < reviews.jsonl | eval FILE [--train=REVIEWS.jsonl] | alerts FILE | train-aspects FILE.xml "
      "--out MODEL "
      "| extract-aspects --model MODEL < texts.jsonl");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  marketlens::logging::SetMinLevel(marketlens::logging::Level::kWarning);
  if (args.size() >= 2 && std::string(args[1]) == "train-aspects")
    return marketlens::analyzer::TrainAspectsCommand(args);
  if (args.size() >= 2 && std::string(args[1]) == "extract-aspects")
    return marketlens::analyzer::ExtractAspectsCommand(args);
  if (args.size() == 3 && std::string(args[1]) == "alerts")  // cli_alerts.h
    return marketlens::analyzer::RunAlertsCommand(args[2], std::cout, std::cerr);
  if (args.size() < 2 || (std::string(args[1]) != "score" && std::string(args[1]) != "eval") ||
      (std::string(args[1]) == "eval" && args.size() != 3)) {
    std::cerr << "usage: cli score < reviews.jsonl\n       cli eval FILE [--train=REVIEWS.jsonl]\n       cli "
                 "alerts FILE\n       cli train-aspects FILE.xml --out MODEL\n       cli extract-aspects "
                 "--model MODEL < texts.jsonl\n";
    return 2;
  }
  auto engine = marketlens::analyzer::Engine::Create();
  if (!engine.ok()) {
    std::cerr << engine.status() << "\n";
    return 1;
  }
  return std::string(args[1]) == "score" ? Score(**engine) : Eval(**engine, args[2]);
}
