// Scores the local engine against the truth the marketplace generator planted (services/marketplace:
// generator, seed 11, 300 products: about 10k reviews in 12 categories). The weak-label model is trained on
// 70% of the reviews using only their star ratings; every metric below is on the other 30% (held out).
//
// Measured: polarity accuracy on reviews whose planted sentiment is positive or negative, the same for
// rules alone (the combination must help), correlation with the planted score, aspect precision/recall
// and polarity agreement, and issue precision/recall after mapping the generator's issue names onto the
// analyzer's categories. The numbers are printed; the assertions are floors a little under them.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/engine/model_gate.h"
#include "services/analyzer/engine/text_model.h"
#include "services/marketplace/generator.h"

namespace marketlens::analyzer {
namespace {

using ::marketlens::testing::IsOk;

namespace mp = ::marketlens::marketplace;

// The generator's issue ids -> the analyzer's categories.
const std::map<std::string, std::string>& IssueMap() {
  static const auto* m = new std::map<std::string, std::string>{{"arrived_damaged", "damaged_in_shipping"},
                                                                {"broke_quickly", "durability"},
                                                                {"stopped_working", "defective"},
                                                                {"missing_parts", "missing_parts"},
                                                                {"wrong_item", "not_as_described"},
                                                                {"charging_failure", "defective"},
                                                                {"overheats", "safety"},
                                                                {"leaks", "defective"},
                                                                {"skin_reaction", "safety"},
                                                                {"bad_smell", "smell"},
                                                                {"sizing_off", "size_fit"},
                                                                {"seams_ripped", "durability"},
                                                                {"color_faded", "durability"},
                                                                {"misprint", "defective"},
                                                                {"late_delivery", "late_delivery"},
                                                                {"counterfeit", "not_as_described"},
                                                                {"chewed_through", "durability"},
                                                                {"rusted", "durability"}};
  return *m;
}

// Negative planted aspects that are issue categories of the analyzer.
const std::map<std::string, std::vector<std::string>>& AspectIssueMap() {
  static const auto* m =
      new std::map<std::string, std::vector<std::string>>{{"value", {"price_value"}},
                                                          {"packaging", {"packaging", "damaged_in_shipping"}},
                                                          {"delivery", {"late_delivery"}},
                                                          {"customer_service", {"customer_service"}},
                                                          {"fit", {"size_fit"}},
                                                          {"size", {"size_fit", "not_as_described"}},
                                                          {"scent", {"smell"}},
                                                          {"safety", {"safety"}},
                                                          {"durability", {"durability"}},
                                                          {"color", {"durability", "not_as_described"}},
                                                          {"material", {"durability"}},
                                                          {"weather_resistance", {"durability"}},
                                                          {"print_quality", {"defective", "durability"}},
                                                          {"installation", {"missing_parts"}}};
  return *m;
}

struct Counts {
  int tp = 0, fp = 0, fn = 0;
  double precision() const { return tp + fp ? static_cast<double>(tp) / (tp + fp) : 0; }
  double recall() const { return tp + fn ? static_cast<double>(tp) / (tp + fn) : 0; }
};

TEST(PlantedTruthTest, EngineScoresOnHeldOutGeneratedReviews) {
  mp::GeneratorOptions options;
  options.seed = 11;
  options.products = 300;
  auto world = mp::Generate(options);
  ASSERT_THAT(world, IsOk());
  const mp::WorldData& data = world->data;
  absl::flat_hash_map<std::string, std::string> category;
  for (const auto& p : data.products) category[p.id()] = p.category();
  absl::flat_hash_map<std::string, const mp::v1::ReviewTruth*> truth;
  for (const auto& t : data.review_truth) truth[t.review_id()] = &t;

  std::vector<const mp::v1::Review*> train, test;
  for (const auto& r : data.reviews) {
    (absl::HashOf(r.id()) % 10 < 7 ? train : test).push_back(&r);
  }
  std::vector<RatedText> rated;
  for (const auto* r : train) rated.push_back({r->title() + ".\n" + r->text(), r->rating()});
  auto with_model = Engine::Create();
  auto rules_only = Engine::Create();
  ASSERT_THAT(with_model, IsOk());
  ASSERT_THAT(rules_only, IsOk());
  // Trained as the service trains it: through the gate.
  auto model = TrainGatedModel(**with_model, rated);
  ASSERT_THAT(model, IsOk());
  ASSERT_TRUE(model->info().gate.passed);
  (*with_model)->SetModel(std::make_shared<TextModel>(*std::move(model)));

  int polar = 0, correct = 0, correct_rules = 0, three_class = 0, three_correct = 0;
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  int n = 0;
  Counts aspects, issues;
  int issue_recall_hits = 0;
  int polarity_checked = 0, polarity_agree = 0;
  int issue_sentences = 0, issue_sentences_verbatim = 0;
  for (const auto* r : test) {
    const auto it = truth.find(r->id());
    ASSERT_NE(it, truth.end());
    const mp::v1::ReviewTruth& t = *it->second;
    const ReviewInput input{.title = r->title(), .text = r->text(), .category = category[r->product_id()]};
    const Analysis a = (*with_model)->Analyze(input);
    const Analysis b = (*rules_only)->Analyze(input);
    if (t.sentiment() == "positive" || t.sentiment() == "negative") {
      ++polar;
      const bool pos = t.sentiment() == "positive";
      correct += (a.sentiment > 0) == pos;
      correct_rules += (b.sentiment > 0) == pos;
    }
    if (t.sentiment() != "mixed") {
      ++three_class;
      three_correct += a.label == t.sentiment();
    }
    ++n;
    sx += a.sentiment;
    sy += t.sentiment_score();
    sxx += a.sentiment * a.sentiment;
    syy += t.sentiment_score() * t.sentiment_score();
    sxy += a.sentiment * t.sentiment_score();

    std::map<std::string, int> planted;
    for (const auto& x : t.aspects()) planted[x.aspect()] = x.polarity();
    std::set<std::string> found;
    for (const auto& m : a.aspects) {
      if (m.discovered) continue;
      found.insert(m.aspect);
      auto p = planted.find(m.aspect);
      if (p == planted.end()) {
        ++aspects.fp;
        continue;
      }
      ++aspects.tp;
      if (p->second != 0) {
        ++polarity_checked;
        polarity_agree += (m.polarity > 0) == (p->second > 0);
      }
    }
    for (const auto& [name, pol] : planted) aspects.fn += !found.contains(name);

    // Recall: the planted issues. Precision: also complaints the generator plants as negative aspects but
    // which are issue categories here (late delivery, packaging, customer service, price/value, size/fit,
    // smell, safety, durability, colour).
    std::set<std::string> planted_issues, acceptable, found_issues;
    for (const auto& i : t.issues()) planted_issues.insert(IssueMap().at(i));
    acceptable = planted_issues;
    for (const auto& x : t.aspects()) {
      if (x.polarity() >= 0) continue;
      auto c = AspectIssueMap().find(x.aspect());
      if (c != AspectIssueMap().end()) acceptable.insert(c->second.begin(), c->second.end());
    }
    for (const auto& i : a.issues) {
      found_issues.insert(i.category);
      ++issue_sentences;
      issue_sentences_verbatim += absl::StrContains(r->text(), i.sentence) ||
                                  absl::StrContains(absl::StrCat(r->title(), "."), i.sentence);
    }
    for (const auto& c : found_issues) (acceptable.contains(c) ? issues.tp : issues.fp)++;
    if (getenv("DEBUG_ISSUES")) {
      for (const auto& i : a.issues) {
        if (!acceptable.contains(i.category))
          std::printf("FP %s | %s\n", i.category.c_str(), i.sentence.c_str());
      }
    }
    for (const auto& c : planted_issues) {
      if (getenv("DEBUG_ISSUES") && !found_issues.contains(c))
        std::printf("FN %s | %s | %s\n", c.c_str(), r->title().c_str(), r->text().c_str());
      if (found_issues.contains(c)) {
        ++issue_recall_hits;
      } else {
        ++issues.fn;
      }
    }
  }
  const double accuracy = static_cast<double>(correct) / polar;
  const double accuracy_rules = static_cast<double>(correct_rules) / polar;
  const double label_accuracy = static_cast<double>(three_correct) / three_class;
  const double corr = (n * sxy - sx * sy) / std::sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
  const double issue_recall =
      static_cast<double>(issue_recall_hits) / std::max(1, issue_recall_hits + issues.fn);
  const double polarity_agreement = static_cast<double>(polarity_agree) / std::max(1, polarity_checked);
  std::printf(
      "planted truth (seed 11, 300 products): train %zu reviews, test %zu\n"
      "  polarity accuracy: combined %.3f, rules only %.3f (%d reviews)\n"
      "  3-class label accuracy (mixed excluded): %.3f (%d reviews)\n"
      "  correlation with planted score: %.3f\n"
      "  aspects: precision %.3f recall %.3f, polarity agreement %.3f (%d)\n"
      "  issues: precision %.3f recall %.3f (tp %d fp %d fn %d); %d of %d sentences quoted verbatim\n"
      "  model: %s, cross-validated balanced accuracy %.3f, gate: rules %.3f combined %.3f\n",
      train.size(), test.size(), accuracy, accuracy_rules, polar, label_accuracy, three_class, corr,
      aspects.precision(), aspects.recall(), polarity_agreement, polarity_checked, issues.precision(),
      issue_recall, issues.tp, issues.fp, issues.fn, issue_sentences_verbatim, issue_sentences,
      (*with_model)->version().c_str(), (*with_model)->model()->info().holdout_balanced_accuracy,
      (*with_model)->model()->info().gate.rules_balanced_accuracy,
      (*with_model)->model()->info().gate.combined_balanced_accuracy);
  // Measured at the time of writing (the generator's texts change as it evolves, so these are floors with a
  // margin): polarity 0.965 / rules 0.927, labels 0.855, correlation 0.785, aspects 0.846 / 0.673 / 0.862,
  // issues 0.808 / 0.88.
  EXPECT_GT(accuracy, 0.93);
  EXPECT_GT(accuracy, accuracy_rules);
  EXPECT_GT(label_accuracy, 0.8);
  EXPECT_GT(corr, 0.72);
  EXPECT_GT(aspects.precision(), 0.75);
  EXPECT_GT(aspects.recall(), 0.6);
  EXPECT_GT(polarity_agreement, 0.8);
  EXPECT_GT(issues.precision(), 0.7);
  EXPECT_GT(issue_recall, 0.85);  // misses are mostly planted typos ("it cme broken", "a puddlle")
  // Each issue names the review's own sentence that triggered it.
  EXPECT_EQ(issue_sentences_verbatim, issue_sentences);
}

// Quality flags name the sentence that raised them: generated reviews (the same world) with a planted
// link, planted bytes that are not UTF-8 in one sentence, or planted copy-paste filler, each at a position
// chosen per review; the flag must be raised and quote exactly the planted sentence. The same reviews
// without the plant must raise none of these flags. And under a contradicting star rating (5 stars on a
// review the generator planted as negative), the rating_mismatch sentence is one of the review's own
// sentences, and a negative one.
TEST(PlantedTruthTest, QualityFlagsQuoteThePlantedSentence) {
  mp::GeneratorOptions options;
  options.seed = 11;
  options.products = 300;
  auto world = mp::Generate(options);
  ASSERT_THAT(world, IsOk());
  auto engine = Engine::Create();
  ASSERT_THAT(engine, IsOk());
  absl::flat_hash_map<std::string, const mp::v1::ReviewTruth*> truth;
  for (const auto& t : world->data.review_truth) truth[t.review_id()] = &t;

  int planted = 0, quoted = 0, clean_false_flags = 0, mismatches = 0, mismatch_ok = 0;
  std::map<std::string, std::pair<int, int>> by_flag;  // flag -> (planted, quoted exactly)
  int n = 0;
  for (const auto& r : world->data.reviews) {
    if (++n > 1500) break;
    // The review's sentences (the generator ends each with ". ", "! " or "? ").
    std::vector<std::string> sentences;
    std::string current;
    for (size_t i = 0; i < r.text().size(); ++i) {
      current.push_back(r.text()[i]);
      const char c = r.text()[i];
      if ((c == '.' || c == '!' || c == '?') && (i + 1 == r.text().size() || r.text()[i + 1] == ' ')) {
        sentences.push_back(current);
        current.clear();
        if (i + 1 < r.text().size()) ++i;  // the space
      }
    }
    if (!current.empty()) sentences.push_back(current);
    if (sentences.size() < 2) continue;

    const Analysis clean = (*engine)->Analyze({.title = r.title(), .text = r.text()});
    clean_false_flags +=
        clean.HasFlag("contains_url") + clean.HasFlag("invalid_utf8") + clean.HasFlag("repetitive");

    const size_t at = std::hash<std::string>{}(r.id()) % (sentences.size() + 1);  // where the plant goes
    std::string flag, plant, expected;
    std::vector<std::string> with = sentences;
    switch (n % 3) {
      case 0:
        flag = "contains_url";
        plant = absl::StrCat("Compare prices at https://shop-", n % 17, ".example.com/item?ref=", n,
                             " before you buy.");
        expected = plant;
        with.insert(with.begin() + at, plant);
        break;
      case 1: {
        flag = "invalid_utf8";
        const size_t k = at % sentences.size();
        const size_t space = with[k].find(' ');
        if (space == std::string::npos) continue;
        expected = with[k];
        expected.replace(space, 1, " \xEF\xBF\xBD ");
        with[k].replace(space, 1, " \xC3 ");  // a lone lead byte
        break;
      }
      default: {
        flag = "repetitive";
        const std::string word = n % 2 ? "amazing" : "recommend";
        for (int i = 0; i < 160; ++i) absl::StrAppend(&plant, i ? " " : "", word);
        plant += ".";
        expected = absl::StrCat(plant.substr(0, kMaxQuoteBytes), "...");  // long quotes are cut
        with.insert(with.begin() + at, plant);
      }
    }
    std::string text;
    for (const auto& s : with) absl::StrAppend(&text, text.empty() ? "" : " ", s);
    const Analysis a = (*engine)->Analyze({.title = r.title(), .text = text});
    ++planted;
    ++by_flag[flag].first;
    const QualityFlag* f = a.Flag(flag);
    if (f != nullptr && f->sentence == expected) {
      ++quoted;
      ++by_flag[flag].second;
    } else if (getenv("DEBUG_FLAGS")) {
      std::printf("%s: got \"%s\"\n  want \"%s\"\n", flag.c_str(), f ? f->sentence.c_str() : "<none>",
                  expected.c_str());
    }

    // A contradicting rating.
    const auto t = truth.find(r.id());
    if (t != truth.end() && t->second->sentiment() == "negative") {
      const Analysis m = (*engine)->Analyze({.title = r.title(), .text = r.text(), .rating = 5});
      const QualityFlag* mf = m.Flag("rating_mismatch");
      if (m.sentiment <= -0.4) {
        ++mismatches;
        if (mf == nullptr) continue;
        const bool own = std::find(sentences.begin(), sentences.end(), mf->sentence) != sentences.end() ||
                         mf->sentence == r.title() || mf->sentence == r.title() + ".";
        mismatch_ok += own && (*engine)->Analyze({.text = mf->sentence}).sentiment < 0;
      }
    }
  }
  std::printf("quality flags on planted sentences: %d of %d quoted exactly", quoted, planted);
  for (const auto& [flag, counts] : by_flag)
    std::printf("; %s %d/%d", flag.c_str(), counts.second, counts.first);
  std::printf(
      "\n  false flags on the clean reviews: %d; rating_mismatch quoting a negative sentence of the review: "
      "%d of %d\n",
      clean_false_flags, mismatch_ok, mismatches);
  EXPECT_GT(planted, 900);
  EXPECT_EQ(quoted, planted);
  EXPECT_EQ(clean_false_flags, 0);
  EXPECT_GT(mismatches, 50);
  EXPECT_GE(mismatch_ok, mismatches * 95 / 100);
}

}  // namespace
}  // namespace marketlens::analyzer
