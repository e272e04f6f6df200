// Aspect-term commands of the analyzer's CLI (engine/aspect_tagger.h):
//
//   bazel run //services/analyzer:cli -- train-aspects FILE.xml --out MODEL [--aspect_category=Electronics]
//       Trains the tagger and the term polarity classifier on SemEval-2014 task 4 XML and writes the model
//       file (the service's --aspect_model). Prints what it trained on.
//   bazel run //services/analyzer:cli -- extract-aspects --model MODEL < in.jsonl > out.jsonl
//       JSON lines {"id", "text"} in; {"id", "terms": [{"term", "from", "to", "polarity"}]} out, one per
//       input line, offsets in Unicode characters of `text` (`to` exclusive), as SemEval counts them; a bad
//       line gives {"line": N, "error": "..."} and the run goes on.
// Exit codes: 0 done, 1 bad input file or model, 2 usage.
#include "services/analyzer/cli_aspects.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "services/analyzer/engine/aspect_tagger.h"
#include "services/analyzer/engine/semeval_xml.h"

ABSL_FLAG(std::string, out, "", "train-aspects: where to write the model");
ABSL_FLAG(std::string, model, "", "extract-aspects: the model written by train-aspects");
ABSL_FLAG(std::string, aspect_category, "Electronics",
          "train-aspects: the taxonomy section whose terms are features (empty: every section)");

namespace marketlens::analyzer {
namespace {

using google::protobuf::Struct;

// One JSON line; invalid UTF-8 is replaced, never an exception.
std::string JsonLine(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}
using google::protobuf::Value;

std::string StringOrNumber(const Struct& s, const std::string& name, bool* present) {
  auto it = s.fields().find(name);
  *present = it != s.fields().end();
  if (!*present) return "";
  if (it->second.kind_case() == Value::kStringValue) return it->second.string_value();
  if (it->second.kind_case() == Value::kNumberValue) return absl::StrCat(it->second.number_value());
  *present = false;
  return "";
}

}  // namespace

int TrainAspectsCommand(const std::vector<char*>& args) {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (args.size() != 3 || out.empty()) {
    std::cerr << "usage: cli train-aspects FILE.xml --out MODEL [--aspect_category=Electronics]\n";
    return 2;
  }
  std::ifstream in(args[2], std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << args[2] << "\n";
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto sentences = ParseSemEvalXml(ss.str());
  if (!sentences.ok()) {
    std::cerr << args[2] << ": " << sentences.status().message() << "\n";
    return 1;
  }
  AspectTrainOptions options;
  options.category = absl::GetFlag(FLAGS_aspect_category);
  AspectTrainReport report;
  const auto start = std::chrono::steady_clock::now();
  auto tagger = AspectTagger::Train(*sentences, options, &report);
  if (!tagger.ok()) {
    std::cerr << "training failed: " << tagger.status() << "\n";
    return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Written beside and renamed, so that a reader never sees half a model.
  const std::string tmp = out + ".tmp";
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    file << tagger->Serialize();
    if (!file.good()) {
      std::cerr << "cannot write " << tmp << "\n";
      return 1;
    }
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0) {
    std::cerr << "cannot rename " << tmp << " to " << out << "\n";
    return 1;
  }
  std::cout << absl::StrFormat(
      "trained %s on %d sentences, %d terms (%d with an edge inside a word), %d features, %.1f s -> %s\n",
      tagger->version(), report.sentences, report.terms, report.misaligned_terms, report.features, seconds,
      out);
  return 0;
}

int ExtractAspectsCommand(const std::vector<char*>& args) {
  const std::string model_path = absl::GetFlag(FLAGS_model);
  if (args.size() != 2 || model_path.empty()) {
    std::cerr << "usage: cli extract-aspects --model MODEL < in.jsonl\n";
    return 2;
  }
  auto tagger = LoadAspectTaggerFile(model_path);
  if (!tagger.ok()) {
    std::cerr << tagger.status().message() << "\n";
    return 1;
  }
  std::string line;
  int64_t n = 0;
  while (std::getline(std::cin, line)) {
    ++n;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    Struct s;
    auto st = google::protobuf::util::JsonStringToMessage(line, &s);
    bool has_text = false, has_id = false;
    const std::string text = st.ok() ? StringOrNumber(s, "text", &has_text) : "";
    std::string id = st.ok() ? StringOrNumber(s, "id", &has_id) : "";
    std::string error;
    if (!st.ok()) {
      error = st.message().as_string();
    } else if (!has_text) {
      error = "field \"text\" (a string) is required";
    }
    if (!error.empty()) {
      std::cout << JsonLine({{"line", n}, {"error", error}}) << "\n";
      continue;
    }
    if (!has_id) id = absl::StrCat(n);
    nlohmann::ordered_json terms = nlohmann::ordered_json::array();
    for (const ExtractedTerm& t : (*tagger)->Extract(text)) {
      terms.push_back({{"term", t.term}, {"from", t.from}, {"to", t.to}, {"polarity", t.polarity}});
    }
    std::cout << JsonLine({{"id", id}, {"terms", std::move(terms)}}) << "\n";
  }
  return 0;
}

}  // namespace marketlens::analyzer
