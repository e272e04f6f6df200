// PlantedModel (generator.h): what the generator planted, and how new activity is written to follow it.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "services/marketplace/generator.h"
#include "services/marketplace/generator_internal.h"
#include "services/marketplace/text_generator.h"

namespace marketlens::marketplace {
namespace {

using generator_internal::Clamp;
using generator_internal::kDay;
using generator_internal::KindOf;
using generator_internal::Round;
using generator_internal::Us;

}  // namespace

double PlantedModel::QualityAt(uint32_t product, absl::Time t) const {
  const ProductPlan& p = products_[product];
  if (p.deteriorates_at && t >= *p.deteriorates_at) return p.quality_after;
  return p.quality;
}

uint32_t PlantedModel::PickCustomer(Rng& rng) const {
  return static_cast<uint32_t>(PickCumulative(rng, customer_cumulative_));
}

uint32_t PlantedModel::PickProduct(uint32_t customer, absl::Time t, Rng& rng) const {
  const int cluster = customers_[customer].cluster;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const size_t category = PickCumulative(rng, cluster_category_cumulative_[cluster]);
    const auto& list = category_products_[cluster][category];
    if (list.empty()) continue;
    const uint32_t p = list[PickCumulative(rng, category_product_cumulative_[cluster][category])];
    if (products_[p].launch <= t) return p;
  }
  // Rarely (early dates): any product already launched, else the oldest.
  uint32_t oldest = 0;
  for (uint32_t tries = 0; tries < 16; ++tries) {
    const uint32_t p = absl::Uniform<uint32_t>(rng, 0, static_cast<uint32_t>(products_.size()));
    if (products_[p].launch <= t) return p;
    if (products_[p].launch < products_[oldest].launch) oldest = p;
  }
  return oldest;
}

std::vector<InteractionRecord> PlantedModel::SampleSession(uint32_t customer, absl::Time t, uint32_t session,
                                                           Rng& rng,
                                                           const std::vector<int32_t>* stock) const {
  const CustomerPlan& c = customers_[customer];
  std::vector<InteractionRecord> out;
  const uint8_t device = Chance(rng, 0.7) ? c.device : static_cast<uint8_t>(UniformInt(rng, 1, 3));
  const int views = 1 + std::min(absl::Poisson<int>(rng, 2.0), 12);
  absl::Time cursor = t;
  for (int v = 0; v < views; ++v) {
    const uint32_t p = PickProduct(customer, cursor, rng);
    const ProductPlan& pp = products_[p];
    out.push_back({Us(cursor), customer, p, session, v1::INTERACTION_TYPE_VIEW, 0, device});
    cursor += absl::Seconds(UniformInt(rng, 15, 240));
    // Appeal: quality, taste and price sensitivity decide whether it goes into the cart.
    const double appeal =
        Clamp(0.55 + 0.35 * (QualityAt(p, cursor) - 3.5) + 0.4 * std::log(pp.affinity[c.cluster]) -
                  0.25 * c.price_sensitivity * std::log10(pp.price_cents / 2000.0 + 1),
              0.15, 1.8);
    if (!Chance(rng, 0.25 * appeal)) continue;
    out.push_back({Us(cursor), customer, p, session, v1::INTERACTION_TYPE_ADD_TO_CART, 0, device});
    cursor += absl::Seconds(UniformInt(rng, 10, 120));
    const bool in_stock = stock == nullptr || p >= stock->size() || (*stock)[p] > 0;
    if (in_stock && Chance(rng, 0.38 + 0.15 * (1 - c.price_sensitivity))) {
      out.push_back({Us(cursor), customer, p, session, v1::INTERACTION_TYPE_PURCHASE, 0, device});
      cursor += absl::Seconds(UniformInt(rng, 5, 60));
    }
  }
  return out;
}

int PlantedModel::SampleRating(uint32_t product, uint32_t customer, absl::Time t, Rng& rng,
                               const ProductPlan::Issue** issue) const {
  const ProductPlan& p = products_[product];
  const CustomerPlan& c = customers_[customer];
  *issue = nullptr;
  for (const ProductPlan::Issue& i : p.issues) {
    if (i.since && t < *i.since) continue;
    if (Chance(rng, i.rate)) {
      *issue = &i;
      const double u = Uniform01(rng);
      return u < 0.55 ? 1 : (u < 0.9 ? 2 : 3);
    }
  }
  const double taste = Clamp(0.35 * std::log(p.affinity[c.cluster]), -0.4, 0.4);
  const double r = QualityAt(product, t) + taste + absl::Gaussian<double>(rng, 0.25, 0.9);
  return static_cast<int>(Clamp(std::round(r), 1, 5));
}

void PlantedModel::ScoreSentiment(int rating, v1::ReviewTruth* truth) {
  double sum = 0;
  bool has_pos = false, has_neg = truth->issues_size() > 0;
  for (const auto& a : truth->aspects()) {
    sum += a.polarity();
    has_pos |= a.polarity() > 0;
    has_neg |= a.polarity() < 0;
  }
  const double stars = (rating - 3) / 2.0;
  double score = truth->aspects_size() == 0 ? 0.9 * stars : 0.55 * stars + 0.45 * sum / truth->aspects_size();
  if (truth->issues_size() > 0) score -= 0.25;
  score = Round(Clamp(score, -1, 1), 3);
  truth->set_sentiment_score(score);
  if (has_pos && has_neg) {
    truth->set_sentiment("mixed");
  } else if (score >= 0.2) {
    truth->set_sentiment("positive");
  } else if (score <= -0.2) {
    truth->set_sentiment("negative");
  } else {
    truth->set_sentiment("neutral");
  }
}

ReviewDraft PlantedModel::WriteReview(uint32_t product, uint32_t customer, absl::Time t, bool verified,
                                      Rng& rng) const {
  const ProductPlan& pp = products_[product];
  const CategorySpec& category = Categories()[pp.category];
  const ProductKind& kind = KindOf(pp);
  const ProductPlan::Issue* issue = nullptr;
  const int rating = SampleRating(product, customer, t, rng, &issue);

  ReviewPlan plan;
  plan.category = &category;
  plan.kind = &kind;
  plan.rating = rating;
  const int n_aspects = 1 + std::min(absl::Poisson<int>(rng, 0.9), 3);
  absl::flat_hash_set<std::string> used;
  static const double kPositive[] = {0, 0.04, 0.15, 0.45, 0.82, 0.94};
  for (int k = 0; k < n_aspects * 3 && static_cast<int>(plan.aspects.size()) < n_aspects; ++k) {
    std::string name;
    const bool planted = !pp.strengths.empty() || !pp.weaknesses.empty();
    if (planted && Chance(rng, 0.55)) {
      std::vector<std::string> both = pp.strengths;
      both.insert(both.end(), pp.weaknesses.begin(), pp.weaknesses.end());
      name = Pick(rng, both);
    } else if (Chance(rng, 0.7)) {
      name = Pick(rng, AspectsOf(category, kind));
    } else {
      name = Pick(rng, UniversalAspects());
    }
    if (!used.insert(name).second) continue;
    const AspectSpec* aspect = FindAspect(name);
    if (aspect == nullptr) continue;
    double p_pos = kPositive[rating];
    if (std::find(pp.strengths.begin(), pp.strengths.end(), name) != pp.strengths.end()) {
      p_pos += (1 - p_pos) * 0.55;
    } else if (std::find(pp.weaknesses.begin(), pp.weaknesses.end(), name) != pp.weaknesses.end()) {
      p_pos *= 0.3;
    }
    int polarity = Chance(rng, p_pos) ? 1 : -1;
    if (Chance(rng, 0.08)) polarity = 0;
    plan.aspects.push_back({aspect, polarity});
  }
  if (issue != nullptr) plan.issues.push_back(FindIssue(issue->name));

  const ReviewText text = marketplace::WriteReview(plan, rng);
  ReviewDraft draft;
  v1::Review& r = draft.review;
  r.set_product_id(product_ids_[product]);
  r.set_customer_id(customer_ids_[customer]);
  r.set_rating(rating);
  r.set_title(text.title);
  r.set_text(text.text);
  r.set_verified_purchase(verified);
  r.set_version(1);
  ToProto(t, r.mutable_created_at());
  ToProto(t, r.mutable_updated_at());
  v1::ReviewTruth& truth = draft.truth;
  truth.set_product_id(r.product_id());
  truth.set_version(1);
  for (size_t i : text.mentioned_aspects) {
    v1::AspectTruth* a = truth.add_aspects();
    a->set_aspect(plan.aspects[i].first->name);
    a->set_polarity(plan.aspects[i].second);
  }
  for (size_t i : text.mentioned_issues) truth.add_issues(plan.issues[i]->name);
  ScoreSentiment(rating, &truth);
  return draft;
}

ReviewDraft PlantedModel::EditReview(uint32_t product, const v1::Review& old,
                                     const v1::ReviewTruth& old_truth, absl::Time t, Rng& rng) const {
  const ProductPlan& pp = products_[product];
  const CategorySpec& category = Categories()[pp.category];
  const ProductKind& kind = KindOf(pp);
  ReviewDraft draft;
  draft.review = old;
  draft.truth = old_truth;
  v1::Review& r = draft.review;
  v1::ReviewTruth& truth = draft.truth;
  int rating = old.rating();
  std::string update;
  if (Chance(rng, 0.6)) {
    // Something went wrong since: the product's own issue if it has one, else one typical of its category.
    const IssueSpec* issue =
        pp.issues.empty() ? FindIssue(Pick(rng, category.issues)) : FindIssue(Pick(rng, pp.issues).name);
    update = FillPlaceholders(Pick(rng, issue->phrases), kind, rng);
    rating = std::max(1, rating - UniformInt(rng, 1, 3));
    bool known = false;
    for (const auto& i : truth.issues()) known |= i == issue->name;
    if (!known) truth.add_issues(issue->name);
  } else {
    update = FillPlaceholders(Pick(rng, ResolvedUpdatePhrases()), kind, rng);
    rating = std::min(5, rating + 1);
    bool known = false;
    for (auto& a : *truth.mutable_aspects()) {
      if (a.aspect() == "customer_service") {
        a.set_polarity(1);
        known = true;
      }
    }
    if (!known) {
      v1::AspectTruth* a = truth.add_aspects();
      a->set_aspect("customer_service");
      a->set_polarity(1);
    }
  }
  r.set_text(absl::StrCat(old.text(), " Update after ", Pick(rng, Periods()), ": ", update, "."));
  if (Chance(rng, 0.3) && !absl::StartsWith(old.title(), "UPDATE"))
    r.set_title(absl::StrCat("UPDATE: ", old.title()));
  r.set_rating(rating);
  ToProto(t, r.mutable_updated_at());
  ScoreSentiment(rating, &truth);
  return draft;
}

v1::Contact PlantedModel::WriteContact(uint32_t customer, std::optional<uint32_t> product,
                                       const std::string& topic, const IssueSpec* issue, absl::Time t,
                                       Rng& rng) const {
  v1::Contact c;
  c.set_customer_id(customer_ids_[customer]);
  ToProto(t, c.mutable_started_at());
  const double u = Uniform01(rng);
  c.set_channel(u < 0.4 ? "email" : (u < 0.75 ? "chat" : "call"));
  c.set_topic(issue != nullptr ? issue->contact_topic : topic);
  double mean = -0.1;
  if (issue != nullptr) {
    mean = -0.6;
  } else if (topic == "return request" || topic == "billing question" || topic == "delivery delay") {
    mean = -0.3;
  } else if (topic == "product question") {
    mean = 0.15;
  } else if (topic == "compliment") {
    mean = 0.8;
  } else if (topic == "account access") {
    mean = -0.2;
  }
  const double sentiment = Round(Clamp(absl::Gaussian<double>(rng, mean, 0.22), -1, 1), 2);
  c.set_sentiment(sentiment);
  ContactPlan plan;
  plan.channel = c.channel();
  plan.topic = c.topic();
  plan.customer_first_name = customers_[customer].first_name;
  plan.issue = issue;
  plan.sentiment = sentiment;
  if (product) {
    c.set_product_id(product_ids_[*product]);
    plan.product_name = product_names_[*product];
    plan.kind = &KindOf(products_[*product]);
  }
  c.set_notes(WriteContactNotes(plan, rng));
  return c;
}

}  // namespace marketlens::marketplace
