#include "services/marketplace/generator.h"

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
#include "services/marketplace/captions.h"
#include "services/marketplace/generator_internal.h"
#include "services/marketplace/text_generator.h"

namespace marketlens::marketplace {
namespace {

using generator_internal::AsinLike;
using generator_internal::Clamp;
using generator_internal::DeteriorationIssue;
using generator_internal::kCampaigns;
using generator_internal::kCaptions;
using generator_internal::kContacts;
using generator_internal::kCustomers;
using generator_internal::kDay;
using generator_internal::kProducts;
using generator_internal::kReviews;
using generator_internal::kSessions;
using generator_internal::LogNormal;
using generator_internal::Round;
using generator_internal::SampleTime;
using generator_internal::Us;

}  // namespace

// ---- Generator -------------------------------------------------------------------------------------------

class Generator {
 public:
  explicit Generator(const GeneratorOptions& o)
      : o_(o), start_(o.end - o.history), model_(std::make_shared<PlantedModel>()) {}

  absl::StatusOr<GeneratedWorld> Run() {
    MakeProducts();
    MakeCustomers();
    BuildPickers();
    MakeActivity();
    MakeCampaigns();
    Finish();
    GeneratedWorld out;
    out.data = std::move(data_);
    out.model = std::move(model_);
    return out;
  }

 private:
  void MakeProducts();
  void MakeCustomers();
  void BuildPickers();
  void MakeActivity();
  void MakeCampaigns();
  void Finish();

  struct ReviewJob {
    absl::Time t;
    uint32_t product;
    uint32_t customer;
    bool verified;
  };
  struct ContactJob {
    absl::Time t;
    uint32_t customer;
    std::optional<uint32_t> product;
    std::string topic;
    const IssueSpec* issue;
  };

  const GeneratorOptions o_;
  const absl::Time start_;
  std::shared_ptr<PlantedModel> model_;
  WorldData data_;
  std::vector<absl::Time> product_last_change_;
};

void Generator::MakeProducts() {
  Rng rng = MakeRng(o_.seed, kProducts);
  const auto& categories = Categories();
  const size_t n_clusters = Clusters().size();
  // Category sizes: every category gets products, bigger ones more.
  std::vector<double> category_weights;
  for (const auto& c : categories) {
    category_weights.push_back(c.name == "Electronics" || c.name == "Home & Kitchen" ? 1.6
                               : c.name == "Books" || c.name == "Clothing"           ? 1.3
                                                                                     : 1.0);
  }
  const std::vector<double> category_cumulative = Cumulative(category_weights);
  // Brand effects on quality (some brands are simply better).
  absl::flat_hash_map<std::string, double> brand_effect;
  for (const auto& c : categories) {
    for (const auto& b : c.brands) brand_effect[b] = absl::Gaussian<double>(rng, 0, 0.3);
  }

  struct Draft {
    std::string id;
    ProductPlan plan;
    v1::Product product;
    v1::ProductTruth truth;
  };
  std::vector<Draft> drafts(o_.products);
  absl::flat_hash_set<std::string> ids;
  for (int i = 0; i < o_.products; ++i) {
    Draft& d = drafts[i];
    ProductPlan& p = d.plan;
    p.category = i < static_cast<int>(categories.size())
                     ? i
                     : static_cast<int>(PickCumulative(rng, category_cumulative));
    const CategorySpec& cat = categories[p.category];
    p.kind = absl::Uniform<int>(rng, 0, static_cast<int>(cat.kinds.size()));
    const ProductKind& kind = cat.kinds[p.kind];
    p.brand = Pick(rng, cat.brands);
    do {
      d.id = AsinLike(rng);
    } while (!ids.insert(d.id).second);

    // Planted quality, strengths, weaknesses.
    p.quality = Round(Clamp(absl::Gaussian<double>(rng, 3.95, 0.55) + brand_effect[p.brand], 1.6, 4.9), 2);
    std::vector<std::string> pool = AspectsOf(cat, kind);
    pool.push_back("value");
    pool.push_back("durability");
    std::sort(pool.begin(), pool.end());
    pool.erase(std::unique(pool.begin(), pool.end()), pool.end());
    std::shuffle(pool.begin(), pool.end(), rng);
    const int n_strengths = p.quality >= 4.2 ? UniformInt(rng, 1, 3) : UniformInt(rng, 0, 2);
    const int n_weaknesses = p.quality < 3.4 ? UniformInt(rng, 1, 3) : UniformInt(rng, 0, 1);
    size_t next = 0;
    for (int k = 0; k < n_strengths && next < pool.size(); ++k) p.strengths.push_back(pool[next++]);
    for (int k = 0; k < n_weaknesses && next < pool.size(); ++k) p.weaknesses.push_back(pool[next++]);

    // Launch: most before the history starts, the rest during it (not in the last 45 days).
    if (Chance(rng, 0.6)) {
      p.launch = start_ - absl::Hours(absl::Uniform<int>(rng, 24, 24 * 900));
    } else {
      p.launch = start_ + (o_.history - 45 * kDay) * Uniform01(rng);
    }
    p.launch = absl::FromUnixSeconds(absl::ToUnixSeconds(p.launch) / 86400 * 86400);  // midnight UTC

    // Issues: a baseline for some products, and a deterioration for a few.
    const double u = Uniform01(rng);
    const int n_issues = u < 0.12 ? 2 : (u < 0.5 ? 1 : 0);
    std::vector<std::string> issue_pool = cat.issues;
    std::shuffle(issue_pool.begin(), issue_pool.end(), rng);
    for (int k = 0; k < n_issues && k < static_cast<int>(issue_pool.size()); ++k) {
      p.issues.push_back({issue_pool[k], Round(UniformReal(rng, 0.03, 0.14), 3), std::nullopt});
    }
    if (p.launch < o_.end - 200 * kDay && Chance(rng, 0.07)) {
      const absl::Time lo = std::max(p.launch + 90 * kDay, o_.end - 365 * kDay);
      const absl::Time hi = o_.end - 30 * kDay;
      if (lo < hi) {
        p.deteriorates_at =
            absl::FromUnixSeconds(absl::ToUnixSeconds(lo + (hi - lo) * Uniform01(rng)) / 86400 * 86400);
        p.quality_after = Round(Clamp(p.quality - UniformReal(rng, 1.3, 2.2), 1.2, 3.2), 2);
        const IssueSpec* issue = DeteriorationIssue(cat);
        p.issues.erase(std::remove_if(p.issues.begin(), p.issues.end(),
                                      [&](const ProductPlan::Issue& x) { return x.name == issue->name; }),
                       p.issues.end());
        p.issues.push_back({issue->name, Round(UniformReal(rng, 0.25, 0.4), 3), p.deteriorates_at});
      }
    }

    // Taste: affinity per cluster (one cluster loves it), popularity (long tail).
    p.affinity.resize(n_clusters);
    for (size_t c = 0; c < n_clusters; ++c) p.affinity[c] = Round(LogNormal(rng, 1.0, 0.45), 3);
    {
      double& favourite = p.affinity[absl::Uniform<size_t>(rng, 0, n_clusters)];
      favourite = Round(favourite * 2.2, 3);
    }
    p.popularity = std::pow(UniformReal(rng, 0.0, 1.0), 2.5) * 20 + 0.2;  // few hits, many niche products
    p.popularity *= 0.6 + 0.4 * (p.quality - 1.5) / 3.4;

    // Catalog fields.
    const double log_lo = std::log(static_cast<double>(cat.price_min_cents));
    const double log_hi = std::log(static_cast<double>(cat.price_max_cents));
    const int64_t dollars = static_cast<int64_t>(std::exp(UniformReal(rng, log_lo, log_hi)) / 100);
    p.price_cents = std::max<int64_t>(dollars, 1) * 100 - 1;
    const std::vector<std::string>& suffixes = TitleSuffixes();
    std::vector<std::string> features = kind.features;
    std::shuffle(features.begin(), features.end(), rng);
    features.resize(std::min<size_t>(features.size(), UniformInt(rng, 1, 3)));
    v1::Product& prod = d.product;
    prod.set_id(d.id);
    prod.set_brand(p.brand);
    prod.set_category(cat.name);
    std::string title = absl::StrCat(p.brand, " ", kind.title,
                                     suffixes[absl::Uniform<int>(rng, 0, static_cast<int>(suffixes.size()))]);
    for (const auto& f : features) absl::StrAppend(&title, ", ", f);
    for (const auto& [key, values] : cat.attributes) {
      const std::string& v = Pick(rng, values);
      (*prod.mutable_attributes())[key] = v;
      if (key == "color") absl::StrAppend(&title, " - ", v);
    }
    (*prod.mutable_attributes())["model"] = absl::StrFormat(
        "%s-%03d", absl::AsciiStrToUpper(p.brand.substr(0, 2)), absl::Uniform<int>(rng, 100, 1000));
    prod.set_title(title);
    prod.set_description(WriteDescription(cat, kind, p.brand, features, p.strengths, rng));
    prod.set_price_cents(p.price_cents);
    prod.set_currency("USD");
    prod.set_stock(Chance(rng, 0.04) ? 0 : static_cast<int32_t>(LogNormal(rng, 120, 0.8)));
    prod.set_margin(Round(UniformReal(rng, cat.margin_min, cat.margin_max), 2));
    ToProto(p.launch, prod.mutable_launch_date());

    v1::ProductTruth& t = d.truth;
    t.set_product_id(d.id);
    t.set_quality(p.quality);
    for (const auto& s : p.strengths) t.add_strengths(s);
    for (const auto& s : p.weaknesses) t.add_weaknesses(s);
    for (const auto& i : p.issues) {
      v1::IssueTruth* it = t.add_issues();
      it->set_issue(i.name);
      it->set_rate(i.rate);
      if (i.since) ToProto(*i.since, it->mutable_since());
    }
    if (p.deteriorates_at) {
      t.set_deteriorating(true);
      ToProto(*p.deteriorates_at, t.mutable_deteriorating_since());
      t.set_quality_after(p.quality_after);
    }
    for (double a : p.affinity) t.add_cluster_affinity(a);
  }
  std::sort(drafts.begin(), drafts.end(), [](const Draft& a, const Draft& b) { return a.id < b.id; });
  for (Draft& d : drafts) {
    model_->product_ids_.push_back(d.id);
    model_->product_names_.push_back(
        absl::StrCat(d.plan.brand, " ", Categories()[d.plan.category].kinds[d.plan.kind].noun));
    model_->products_.push_back(std::move(d.plan));
    data_.products.push_back(std::move(d.product));
    data_.product_truth.push_back(std::move(d.truth));
  }
  product_last_change_.assign(data_.products.size(), absl::InfinitePast());
}

void Generator::MakeCustomers() {
  Rng rng = MakeRng(o_.seed, kCustomers);
  const int n = o_.customers > 0 ? o_.customers : o_.products * 8;
  const auto& clusters = Clusters();
  const auto& categories = Categories();
  std::vector<double> cluster_weights(clusters.size(), 1.0);
  cluster_weights[0] = 1.4;  // more tech shoppers
  const std::vector<double> cluster_cumulative = Cumulative(cluster_weights);
  const std::vector<std::string>& domains = EmailDomains();
  for (int i = 0; i < n; ++i) {
    CustomerPlan plan;
    plan.cluster = static_cast<int>(PickCumulative(rng, cluster_cumulative));
    const ClusterSpec& cluster = clusters[plan.cluster];
    plan.activity = LogNormal(rng, 0.62, 0.95);  // mean ~1
    plan.price_sensitivity =
        Round(Clamp(cluster.price_sensitivity + absl::Gaussian<double>(rng, 0, 0.18), 0, 1), 2);
    const double d = Uniform01(rng);
    plan.device = d < 0.58 ? 1 : (d < 0.9 ? 2 : 3);
    plan.created = Chance(rng, 0.3) ? start_ - absl::Hours(absl::Uniform<int>(rng, 1, 24 * 730))
                                    : start_ + (o_.history - kDay) * Uniform01(rng);
    plan.first_name = Pick(rng, FirstNames());
    const std::string last = Pick(rng, LastNames());

    v1::Customer c;
    c.set_id(absl::StrFormat("C%07d", i + 1));
    c.set_name(absl::StrCat(plan.first_name, " ", last));
    c.set_email(absl::StrCat(absl::AsciiStrToLower(plan.first_name), ".",
                             absl::AsciiStrToLower(absl::StrReplaceAll(last, {{"'", ""}})),
                             absl::Uniform<int>(rng, 1, 999), "@",
                             domains[absl::Uniform<int>(rng, 0, static_cast<int>(domains.size()))]));
    c.set_occupation(Pick(rng, Occupations()));
    c.set_region(Pick(rng, Regions()));
    ToProto(plan.created, c.mutable_created_at());
    std::string segment = "regular";
    if (plan.created > o_.end - 90 * kDay) {
      segment = "new";
    } else if (plan.activity > 1.8) {
      segment = "loyal";
    } else if (c.occupation() == "small business owner" || c.occupation() == "procurement officer" ||
               c.occupation() == "office manager") {
      segment = "business";
    } else if (plan.price_sensitivity > 0.65) {
      segment = "bargain_hunter";
    }
    c.set_segment(segment);

    v1::CustomerTruth t;
    t.set_customer_id(c.id());
    t.set_cluster(plan.cluster);
    t.set_cluster_name(cluster.name);
    std::vector<std::pair<std::string, double>> prefs = cluster.category_weights;
    std::sort(prefs.begin(), prefs.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (size_t k = 0; k < prefs.size() && k < 2; ++k) t.add_preferred_categories(prefs[k].first);
    t.set_price_sensitivity(plan.price_sensitivity);

    model_->customer_ids_.push_back(c.id());
    model_->customers_.push_back(std::move(plan));
    data_.customers.push_back(std::move(c));
    data_.customer_truth.push_back(std::move(t));
  }
  (void)categories;
}

void Generator::BuildPickers() {
  PlantedModel& m = *model_;
  const auto& clusters = Clusters();
  const auto& categories = Categories();
  std::vector<double> activity;
  for (const auto& c : m.customers_) activity.push_back(c.activity);
  m.customer_cumulative_ = Cumulative(activity);
  m.cluster_category_cumulative_.assign(clusters.size(), {});
  m.category_products_.assign(clusters.size(), std::vector<std::vector<uint32_t>>(categories.size()));
  m.category_product_cumulative_.assign(clusters.size(), std::vector<std::vector<double>>(categories.size()));
  for (size_t cl = 0; cl < clusters.size(); ++cl) {
    std::vector<double> weights(categories.size(), 0.3);
    for (const auto& [name, w] : clusters[cl].category_weights) {
      for (size_t k = 0; k < categories.size(); ++k) {
        if (categories[k].name == name) weights[k] = w;
      }
    }
    std::vector<std::vector<double>> product_weights(categories.size());
    for (uint32_t p = 0; p < m.products_.size(); ++p) {
      const ProductPlan& pp = m.products_[p];
      m.category_products_[cl][pp.category].push_back(p);
      product_weights[pp.category].push_back(pp.popularity * pp.affinity[cl] * pp.affinity[cl]);
    }
    for (size_t k = 0; k < categories.size(); ++k) {
      if (product_weights[k].empty()) weights[k] = 0;
      m.category_product_cumulative_[cl][k] = Cumulative(product_weights[k]);
    }
    m.cluster_category_cumulative_[cl] = Cumulative(weights);
  }
}

void Generator::MakeActivity() {
  const PlantedModel& m = *model_;
  Rng rng = MakeRng(o_.seed, kSessions);
  std::vector<ReviewJob> review_jobs;
  std::vector<ContactJob> contact_jobs;
  std::vector<InteractionRecord>& interactions = data_.interactions;
  uint32_t session = 0;
  const std::vector<std::pair<std::string, double>>& purchase_topics = PurchaseContactTopics();
  std::vector<double> topic_weights;
  for (const auto& [t, w] : purchase_topics) topic_weights.push_back(w);
  const std::vector<double> topic_cumulative = Cumulative(topic_weights);

  for (uint32_t c = 0; c < m.customers_.size(); ++c) {
    const CustomerPlan& cp = m.customers_[c];
    const absl::Time from = std::max(cp.created, start_);
    const double fraction = absl::FDivDuration(o_.end - from, o_.history);
    const int sessions =
        absl::Poisson<int>(rng, std::max(0.0, cp.activity * o_.sessions_per_customer * fraction));
    for (int s = 0; s < sessions; ++s) {
      const absl::Time t = SampleTime(from, o_.end, rng);
      std::vector<InteractionRecord> records = m.SampleSession(c, t, ++session, rng);
      for (const InteractionRecord& r : records) {
        if (r.time_us >= Us(o_.end)) continue;
        interactions.push_back(r);
        if (r.type != v1::INTERACTION_TYPE_PURCHASE) continue;
        const absl::Time bought = absl::FromUnixMicros(r.time_us);
        if (Chance(rng, o_.review_probability)) {
          const absl::Time at =
              bought + kDay + absl::Seconds(absl::Exponential<double>(rng, 1.0 / (6 * 86400.0)));
          if (at < o_.end) review_jobs.push_back({at, r.product, c, true});
        } else if (Chance(rng, 0.35)) {
          const absl::Time at = bought + absl::Hours(UniformInt(rng, 24, 240));
          if (at < o_.end) {
            const ProductPlan::Issue* issue = nullptr;
            const int rating = m.SampleRating(r.product, c, at, rng, &issue);
            interactions.push_back({Us(at), c, r.product, 0, v1::INTERACTION_TYPE_RATING,
                                    static_cast<uint8_t>(rating), r.device});
          }
        }
        if (Chance(rng, 0.025)) {
          const absl::Time at = bought + absl::Hours(UniformInt(rng, 1, 240));
          if (at < o_.end) {
            contact_jobs.push_back(
                {at, c, r.product, purchase_topics[PickCumulative(rng, topic_cumulative)].first, nullptr});
          }
        }
      }
    }
    if (Chance(rng, 0.01))
      contact_jobs.push_back({SampleTime(from, o_.end, rng), c, std::nullopt, "account access", nullptr});
  }
  // Unverified reviews: people who bought elsewhere (or not at all).
  const size_t unverified = review_jobs.size() * 8 / 100;
  for (size_t i = 0; i < unverified; ++i) {
    const uint32_t c = m.PickCustomer(rng);
    const absl::Time t = SampleTime(std::max(m.customers_[c].created, start_), o_.end, rng);
    review_jobs.push_back({t, m.PickProduct(c, t, rng), c, false});
  }

  // Interactions in time order (stable: ties keep generation order, which is deterministic).
  std::stable_sort(
      interactions.begin(), interactions.end(),
      [](const InteractionRecord& a, const InteractionRecord& b) { return a.time_us < b.time_us; });

  // Reviews in time order, written now (texts from their own stream).
  std::stable_sort(review_jobs.begin(), review_jobs.end(),
                   [](const ReviewJob& a, const ReviewJob& b) { return a.t < b.t; });
  Rng text_rng = MakeRng(o_.seed, kReviews);
  data_.reviews.reserve(review_jobs.size());
  data_.review_truth.reserve(review_jobs.size());
  for (size_t i = 0; i < review_jobs.size(); ++i) {
    const ReviewJob& job = review_jobs[i];
    ReviewDraft draft = m.WriteReview(job.product, job.customer, job.t, job.verified, text_rng);
    const std::string id = ReviewId(i);
    draft.review.set_id(id);
    draft.truth.set_review_id(id);
    // Helpful votes: older and more extreme reviews collect more; a few collect a lot.
    const double age_days = absl::ToDoubleHours(o_.end - job.t) / 24;
    const int rating = draft.review.rating();
    double mean = 0.2 + age_days / 150.0 * (rating == 1 || rating == 5 ? 1.3 : 0.7) *
                            (draft.review.text().size() > 300 ? 1.6 : 1.0);
    if (Chance(text_rng, 0.03)) mean *= 12;
    draft.review.set_helpful_votes(absl::Poisson<int>(text_rng, mean));
    product_last_change_[job.product] = std::max(product_last_change_[job.product], job.t);
    // Problems lead to customer-service contacts.
    if (draft.truth.issues_size() > 0 && Chance(text_rng, 0.55)) {
      const absl::Time at = job.t - absl::Hours(UniformInt(text_rng, 0, 72));
      contact_jobs.push_back({std::min(at, o_.end - absl::Seconds(1)), job.customer, job.product, "",
                              FindIssue(draft.truth.issues(0))});
    } else if (rating <= 2 && Chance(text_rng, 0.15)) {
      contact_jobs.push_back({job.t, job.customer, job.product, "return request", nullptr});
    } else if (rating == 5 && Chance(text_rng, 0.01)) {
      contact_jobs.push_back({job.t, job.customer, job.product, "compliment", nullptr});
    }
    data_.reviews.push_back(std::move(draft.review));
    data_.review_truth.push_back(std::move(draft.truth));
  }

  std::stable_sort(contact_jobs.begin(), contact_jobs.end(),
                   [](const ContactJob& a, const ContactJob& b) { return a.t < b.t; });
  Rng contact_rng = MakeRng(o_.seed, kContacts);
  for (size_t i = 0; i < contact_jobs.size(); ++i) {
    const ContactJob& job = contact_jobs[i];
    v1::Contact contact = m.WriteContact(job.customer, job.product, job.topic, job.issue, job.t, contact_rng);
    contact.set_id(ContactId(i));
    data_.contacts.push_back(std::move(contact));
  }
}

void Generator::MakeCampaigns() {
  Rng rng = MakeRng(o_.seed, kCampaigns);
  // Captions draw from their own stream, so that the posts' other numbers are drawn as before.
  Rng caption_rng = MakeRng(o_.seed, kCaptions);
  const PlantedModel& m = *model_;
  const auto& platforms = Platforms();
  std::vector<std::string> handles;
  for (const auto& p : InfluencerHandlePrefixes()) {
    for (const auto& s : InfluencerHandleSuffixes()) handles.push_back(absl::StrCat("@", p, s));
  }
  std::shuffle(handles.begin(), handles.end(), rng);
  const int n_influencers = std::clamp(o_.products / 15, 20, 400);
  struct Influencer {
    std::string handle;
    int64_t followers;
    double engagement;
    std::string platform;
  };
  std::vector<Influencer> influencers;
  for (int i = 0; i < n_influencers; ++i) {
    Influencer inf;
    inf.handle = i < static_cast<int>(handles.size())
                     ? handles[i]
                     : absl::StrCat(handles[i % handles.size()], "_", i / handles.size() + 1);
    // Pareto followers: a handful of stars, a long tail of micro-influencers.
    inf.followers =
        static_cast<int64_t>(std::min(8e6, 2000.0 / std::pow(UniformReal(rng, 1e-6, 1.0), 1 / 1.15)));
    inf.engagement = Round(Clamp(LogNormal(rng, 0.035, 0.6), 0.003, 0.3), 4);
    inf.platform = Pick(rng, platforms);
    influencers.push_back(std::move(inf));
  }

  const int n_campaigns = std::clamp(o_.products / 40, 4, 500);
  struct Post {
    absl::Time t;
    v1::CampaignPost post;
  };
  std::vector<Post> posts;
  for (int k = 0; k < n_campaigns; ++k) {
    const std::string campaign = absl::StrFormat("CMP%04d", k + 1);
    const uint32_t anchor = absl::Uniform<uint32_t>(rng, 0, static_cast<uint32_t>(m.products_.size()));
    std::vector<uint32_t> featured = {anchor};
    for (uint32_t p = 0; p < m.products_.size() && featured.size() < 3; ++p) {
      if (p != anchor && m.products_[p].brand == m.products_[anchor].brand) featured.push_back(p);
    }
    const absl::Time window_start =
        std::max(start_, m.products_[anchor].launch) + (o_.history - 60 * kDay) * Uniform01(rng) * 0.9;
    const absl::Time window_end =
        std::min(o_.end - absl::Hours(1), window_start + kDay * UniformInt(rng, 14, 42));
    if (window_end <= window_start) continue;
    const int n_inf = UniformInt(rng, 4, 12);
    std::vector<int> chosen;
    for (int j = 0; j < n_inf; ++j) chosen.push_back(absl::Uniform<int>(rng, 0, n_influencers));
    std::sort(chosen.begin(), chosen.end());
    chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
    for (int idx : chosen) {
      const Influencer& inf = influencers[idx];
      const int n_posts = UniformInt(rng, 1, 3);
      for (int j = 0; j < n_posts; ++j) {
        Post p;
        p.t = window_start + (window_end - window_start) * Uniform01(rng);
        v1::CampaignPost& post = p.post;
        post.set_campaign_id(campaign);
        post.set_influencer(inf.handle);
        post.set_platform(Chance(rng, 0.75) ? inf.platform : Pick(rng, platforms));
        const uint32_t product = featured[absl::Uniform<size_t>(rng, 0, featured.size())];
        post.set_product_id(m.product_ids_[product]);
        const ProductPlan& plan = m.products_[product];
        const CategorySpec& category = Categories()[plan.category];
        const Caption caption = WriteCaption(
            {plan.brand, category.kinds[plan.kind].noun, category.name, post.platform()}, caption_rng);
        post.set_caption(caption.text);
        for (const std::string& tag : caption.hashtags) post.add_hashtags(tag);
        const double reach = Clamp(LogNormal(rng, PlatformReach(post.platform()), 0.7), 0.005, 3.0);
        const int64_t views = static_cast<int64_t>(inf.followers * reach);
        // The planted caption effect: the angle's lift on this platform (expected 1 over the platform).
        const double like_rate =
            inf.engagement / 1.13 * LogNormal(rng, std::exp(-0.35 * 0.35 / 2), 0.35) * caption.lift;
        const int64_t likes = static_cast<int64_t>(views * Clamp(like_rate, 0, 0.9));
        post.set_views(views);
        post.set_likes(likes);
        post.set_comments(static_cast<int64_t>(likes * UniformReal(rng, 0.02, 0.08)));
        post.set_shares(static_cast<int64_t>(likes * UniformReal(rng, 0.01, 0.15)));
        ToProto(p.t, post.mutable_posted_at());
        posts.push_back(std::move(p));
      }
    }
  }
  std::stable_sort(posts.begin(), posts.end(), [](const Post& a, const Post& b) { return a.t < b.t; });
  for (size_t i = 0; i < posts.size(); ++i) {
    posts[i].post.set_id(absl::StrFormat("P%07d", i + 1));
    data_.posts.push_back(std::move(posts[i].post));
  }
  std::sort(influencers.begin(), influencers.end(),
            [](const Influencer& a, const Influencer& b) { return a.handle < b.handle; });
  for (const Influencer& inf : influencers) {
    v1::InfluencerTruth t;
    t.set_influencer(inf.handle);
    t.set_followers(inf.followers);
    t.set_engagement_rate(inf.engagement);
    data_.influencer_truth.push_back(std::move(t));
  }
  data_.caption_truth = CaptionTruths();
}

void Generator::Finish() {
  Rng rng = MakeRng(o_.seed, kProducts + 100);
  for (size_t p = 0; p < data_.products.size(); ++p) {
    absl::Time updated = std::max(model_->products_[p].launch, product_last_change_[p]);
    if (Chance(rng, 0.5)) {  // a recent price change
      updated = std::max(updated, o_.end - absl::Hours(UniformInt(rng, 1, 24 * 90)));
    }
    ToProto(updated, data_.products[p].mutable_updated_at());
  }
  data_.source = "generator";
  data_.seed = o_.seed;
  data_.now = o_.end;
}

absl::StatusOr<GeneratedWorld> Generate(const GeneratorOptions& options) {
  if (options.products < 1 || options.products > 1000000) {
    return absl::InvalidArgumentError("products must be 1..1000000");
  }
  if (options.customers < 0) return absl::InvalidArgumentError("customers must be >= 0");
  if (options.history <= absl::ZeroDuration()) return absl::InvalidArgumentError("history must be positive");
  if (options.sessions_per_customer < 0 || options.review_probability < 0 || options.review_probability > 1) {
    return absl::InvalidArgumentError("sessions_per_customer >= 0 and review_probability 0..1");
  }
  return Generator(options).Run();
}

}  // namespace marketlens::marketplace
