// Aspect-term extraction on SemEval-2014 task 4 (bench/aspects_bench.sh; not a test): exact-match F1 of the
// trained tagger on laptop sentences it never saw (a fixed content-hash 20% split of Laptop_Train_v2.xml, and
// optionally k-fold cross-validation) and on the restaurant test set (trained on the restaurant training
// set), next to the dictionary baseline of the 2014 task measured in the same run; term polarity accuracy on
// the gold terms; training time and extraction speed.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "services/analyzer/engine/aspect_tagger.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/engine/semeval_xml.h"

ABSL_FLAG(std::string, data_dir, "", "the shared data directory (holding semeval2014/)");
ABSL_FLAG(int, tagger_epochs, 12, "tagger training epochs");
ABSL_FLAG(int, polarity_epochs, 15, "polarity training epochs");
ABSL_FLAG(double, polarity_lr, 0.2, "polarity learning rate");
ABSL_FLAG(int, folds, 5, "laptop cross-validation folds (0: only the fixed 20% split)");

namespace {

using namespace marketlens::analyzer;  // NOLINT: benchmark main
using Clock = std::chrono::steady_clock;

std::vector<AnnotatedSentence> Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(1);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = ParseSemEvalXml(ss.str());
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), std::string(parsed.status().message()).c_str());
    std::exit(1);
  }
  return *std::move(parsed);
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

struct Result {
  TermScores model, baseline;
  int64_t polarity_gold = 0, polarity_correct = 0, polarity_majority = 0;
  double train_seconds = 0, sentences_per_second = 0;
};

Result Run(const std::vector<AnnotatedSentence>& train, const std::vector<AnnotatedSentence>& test,
           const std::string& category) {
  Result r;
  AspectTrainOptions options;
  options.category = category;
  options.tagger_epochs = absl::GetFlag(FLAGS_tagger_epochs);
  options.polarity_epochs = absl::GetFlag(FLAGS_polarity_epochs);
  options.polarity_learning_rate = absl::GetFlag(FLAGS_polarity_lr);
  AspectTrainReport report;
  const auto t0 = Clock::now();
  auto tagger = AspectTagger::Train(train, options, &report);
  r.train_seconds = Seconds(t0);
  if (!tagger.ok()) {
    std::fprintf(stderr, "training failed: %s\n", std::string(tagger.status().message()).c_str());
    std::exit(1);
  }
  std::printf("  trained on %d sentences, %d terms (%d misaligned with the tokenizer), %d features, %.2f s\n",
              report.sentences, report.terms, report.misaligned_terms, report.features, r.train_seconds);
  const TermDictionaryBaseline baseline(train);
  const auto t1 = Clock::now();
  std::vector<std::vector<ExtractedTerm>> predicted;
  for (const AnnotatedSentence& s : test) predicted.push_back(tagger->Extract(s.text));
  r.sentences_per_second = test.size() / std::max(1e-9, Seconds(t1));
  int64_t by_class[3] = {0, 0, 0};
  for (const AnnotatedSentence& s : train) {
    for (const AnnotatedTerm& t : s.terms) {
      by_class[0] += t.polarity == "positive";
      by_class[1] += t.polarity == "negative";
      by_class[2] += t.polarity == "neutral";
    }
  }
  const char* majority = by_class[0] >= by_class[1] && by_class[0] >= by_class[2] ? "positive"
                         : by_class[1] >= by_class[2]                             ? "negative"
                                                                                  : "neutral";
  for (size_t i = 0; i < test.size(); ++i) {
    r.model.Add(test[i].terms, predicted[i]);
    r.baseline.Add(test[i].terms, baseline.Extract(test[i].text));
    for (const AnnotatedTerm& g : test[i].terms) {
      ++r.polarity_gold;
      r.polarity_correct += tagger->Classify(test[i].text, g.byte_from, g.byte_to).polarity == g.polarity;
      r.polarity_majority += g.polarity == majority;
    }
  }
  return r;
}

void Print(const std::string& name, const Result& r) {
  std::printf(
      "  %s: model P=%.3f R=%.3f F1=%.3f (gold %ld, predicted %ld, correct %ld); polarity of found "
      "terms %.3f\n",
      name.c_str(), r.model.precision(), r.model.recall(), r.model.f1(), r.model.gold, r.model.predicted,
      r.model.correct,
      r.model.polarity_total ? double(r.model.polarity_correct) / r.model.polarity_total : 0.0);
  std::printf("  %s: dictionary baseline P=%.3f R=%.3f F1=%.3f\n", name.c_str(), r.baseline.precision(),
              r.baseline.recall(), r.baseline.f1());
  std::printf("  %s: polarity accuracy on gold terms %.3f (majority class %.3f), %ld terms\n", name.c_str(),
              double(r.polarity_correct) / std::max<int64_t>(1, r.polarity_gold),
              double(r.polarity_majority) / std::max<int64_t>(1, r.polarity_gold), r.polarity_gold);
  std::printf("  %s: extraction %.0f sentences/s (one core)\n", name.c_str(), r.sentences_per_second);
}

// review_text of the Blitzer reviews (pseudo-XML: each tag on a line of its own, see SOURCES.md).
std::vector<std::string> BlitzerTexts(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> out;
  std::string line, text;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == "<review_text>") {
      inside = true;
      text.clear();
    } else if (line == "</review_text>") {
      inside = false;
      out.push_back(text);
    } else if (inside) {
      absl::StrAppend(&text, text.empty() ? "" : "\n", line);
    }
  }
  return out;
}

// Reviews per second through Engine::Analyze over `texts` for at least `seconds`.
double EngineRate(const Engine& engine, const std::vector<std::string>& texts, double seconds,
                  int64_t* aspects) {
  const auto start = Clock::now();
  int64_t n = 0;
  *aspects = 0;
  while (Seconds(start) < seconds || n < static_cast<int64_t>(texts.size())) {
    const Analysis a = engine.Analyze({.text = texts[n % texts.size()], .category = "Home & Kitchen"});
    if (n < static_cast<int64_t>(texts.size())) *aspects += a.aspects.size();
    ++n;
  }
  return n / Seconds(start);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string dir = absl::GetFlag(FLAGS_data_dir);
  const std::vector<AnnotatedSentence> laptops = Load(dir + "/semeval2014/Laptop_Train_v2.xml");
  std::vector<AnnotatedSentence> train, held_out;
  for (const AnnotatedSentence& s : laptops) (InHeldOutFold(s.text, 0, 5) ? held_out : train).push_back(s);
  std::printf("laptops: %zu sentences, %zu trained on, %zu held out (content hash, fold 0 of 5)\n",
              laptops.size(), train.size(), held_out.size());
  const Result lap = Run(train, held_out, "Electronics");
  Print("laptops held-out 20%", lap);
  std::printf(
      "figure: name=aspects_laptop_heldout_f1 value=%.3f unit=f1 target=>=0.70 baseline=dictionary "
      "baseline_value=%.3f\n",
      lap.model.f1(), lap.baseline.f1());
  std::printf(
      "figure: name=aspects_laptop_polarity_acc value=%.3f unit=accuracy target=- "
      "baseline=majority_class baseline_value=%.3f\n",
      double(lap.polarity_correct) / lap.polarity_gold, double(lap.polarity_majority) / lap.polarity_gold);
  const int folds = absl::GetFlag(FLAGS_folds);
  if (folds > 1) {
    TermScores cv, cv_base;
    for (int f = 0; f < folds; ++f) {
      std::vector<AnnotatedSentence> tr, te;
      for (const AnnotatedSentence& s : laptops) (InHeldOutFold(s.text, f, folds) ? te : tr).push_back(s);
      const Result r = Run(tr, te, "Electronics");
      std::printf("  fold %d: F1 %.3f (baseline %.3f)\n", f, r.model.f1(), r.baseline.f1());
      cv.gold += r.model.gold, cv.predicted += r.model.predicted, cv.correct += r.model.correct;
      cv_base.gold += r.baseline.gold, cv_base.predicted += r.baseline.predicted,
          cv_base.correct += r.baseline.correct;
    }
    std::printf(
        "figure: name=aspects_laptop_cv%d_f1 value=%.3f unit=f1 target=>=0.70 baseline=dictionary "
        "baseline_value=%.3f\n",
        folds, cv.f1(), cv_base.f1());
  }
  const std::vector<AnnotatedSentence> rest_train = Load(dir + "/semeval2014/Restaurants_Train_v2.xml");
  const std::vector<AnnotatedSentence> rest_test = Load(dir + "/semeval2014/Restaurants_Test_Gold.xml");
  const Result rest = Run(rest_train, rest_test, "");
  Print("restaurants test", rest);
  std::printf(
      "figure: name=aspects_restaurant_test_f1 value=%.3f unit=f1 target=- baseline=dictionary "
      "baseline_value=%.3f\n",
      rest.model.f1(), rest.baseline.f1());
  std::printf(
      "figure: name=aspects_restaurant_polarity_acc value=%.3f unit=accuracy target=- "
      "baseline=majority_class baseline_value=%.3f\n",
      double(rest.polarity_correct) / rest.polarity_gold,
      double(rest.polarity_majority) / rest.polarity_gold);
  std::printf(
      "figure: name=aspects_extract_rate value=%.0f unit=sentences/s target=- baseline=- "
      "baseline_value=-\n",
      lap.sentences_per_second);
  // The engine with and without a tagger (trained on all laptop sentences) on real kitchen reviews.
  const std::vector<std::string> kitchen = BlitzerTexts(dir + "/blitzer/kitchen_positive.review");
  auto engine = Engine::Create();
  auto tagger = AspectTagger::Train(laptops);
  if (!kitchen.empty() && engine.ok() && tagger.ok()) {
    int64_t plain_aspects = 0, tagged_aspects = 0;
    const double plain = EngineRate(**engine, kitchen, 2.0, &plain_aspects);
    (*engine)->SetAspectTagger(std::make_shared<const AspectTagger>(*std::move(tagger)));
    const double tagged = EngineRate(**engine, kitchen, 2.0, &tagged_aspects);
    std::printf(
        "  engine on %zu Blitzer kitchen reviews: %.0f reviews/s with the tagger (%.2f aspects per "
        "review), %.0f without (%.2f taxonomy aspects per review)\n",
        kitchen.size(), tagged, double(tagged_aspects) / kitchen.size(), plain,
        double(plain_aspects) / kitchen.size());
    std::printf(
        "figure: name=aspects_engine_reviews_per_s value=%.0f unit=reviews/s target=- "
        "baseline=engine_without_tagger baseline_value=%.0f\n",
        tagged, plain);
  }
  std::printf("figure: name=aspects_train_seconds value=%.2f unit=s target=- baseline=- baseline_value=-\n",
              lap.train_seconds);
  return 0;
}
