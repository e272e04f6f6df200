#include "services/analyzer/alerts_scoring.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace marketlens::analyzer {
namespace {

std::optional<absl::Time> ParseTime(const google::protobuf::Value& v) {
  absl::Time t;
  std::string error;
  if (v.kind_case() != google::protobuf::Value::kStringValue ||
      !absl::ParseTime(absl::RFC3339_full, v.string_value(), &t, &error))
    return std::nullopt;
  return t;
}

}  // namespace

absl::StatusOr<PlantedTruth> ReadMarketplaceTruth(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  PlantedTruth truth;
  std::string line;
  while (std::getline(in, line)) {
    google::protobuf::Struct s;
    if (line.empty() || !google::protobuf::util::JsonStringToMessage(line, &s).ok()) continue;
    const auto& f = s.fields();
    auto id = f.find("product_id");
    if (id == f.end()) continue;
    std::optional<absl::Time> since;
    if (auto d = f.find("deteriorating_since"); d != f.end()) since = ParseTime(d->second);
    if (auto issues = f.find("issues"); issues != f.end() && issues->second.has_list_value()) {
      for (const auto& issue : issues->second.list_value().values()) {
        if (!issue.has_struct_value()) continue;
        const auto& fi = issue.struct_value().fields();
        if (auto s2 = fi.find("since"); s2 != fi.end()) {
          const auto t = ParseTime(s2->second);
          if (t && (!since || *t < *since)) since = t;
        }
      }
    }
    truth[id->second.string_value()] = since;
  }
  return truth;
}

PlantedWorld PlantRealChanges(const std::vector<FileReview>& reviews, const PlantOptions& o) {
  std::mt19937_64 rng(o.seed);
  std::map<std::string, std::vector<const FileReview*>> by_product;
  for (const FileReview& r : reviews) by_product[r.product_id].push_back(&r);
  std::vector<const FileReview*> low;
  for (const FileReview& r : reviews)
    if (r.rating <= 2) low.push_back(&r);
  PlantedWorld world;
  std::uniform_real_distribution<double> u(0, 1);
  for (auto& [product, list] : by_product) {
    std::stable_sort(list.begin(), list.end(),
                     [](const FileReview* a, const FileReview* b) { return a->created_at < b->created_at; });
    const bool change = u(rng) < o.changed_share && static_cast<int>(list.size()) >= o.min_reviews;
    world.truth[product] = std::nullopt;
    const int n = static_cast<int>(list.size());
    int split = n;
    if (change) {
      split = std::clamp(static_cast<int>(n * (o.change_at + 0.2 * (u(rng) - 0.5))), 1, n - 1);
      world.truth[product] = list[split]->created_at;
    }
    for (int i = 0; i < n; ++i) {
      FileReview r = *list[i];
      if (i >= split && (i == split || u(rng) < o.replaced_share)) {
        const FileReview* other = nullptr;
        for (int tries = 0; tries < 100 && (other == nullptr || other->product_id == product); ++tries)
          other = low[std::uniform_int_distribution<size_t>(0, low.size() - 1)(rng)];
        if (other != nullptr && other->product_id != product) {
          r.title = other->title;
          r.text = other->text;
          r.rating = other->rating;
          r.id = absl::StrCat(r.id, "~planted");
        }
      }
      world.reviews.push_back(std::move(r));
    }
  }
  return world;
}

double Median(std::vector<double> g) {
  if (g.empty()) return 0;
  std::sort(g.begin(), g.end());
  const size_t m = g.size() / 2;
  return g.size() % 2 ? g[m] : (g[m - 1] + g[m]) / 2;
}

void AlertScore::Add(const AlertScore& o) {
  eligible += o.eligible;
  detected += o.detected;
  dated += o.dated;
  in_interval += o.in_interval;
  range_covered += o.range_covered;
  range_covered_exact += o.range_covered_exact;
  unchanged += o.unchanged;
  false_alarms += o.false_alarms;
  auto append = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
  append(gap_days, o.gap_days);
  append(range_days, o.range_days);
  append(range_reviews, o.range_reviews);
  append(missed, o.missed);
  append(false_alarm_products, o.false_alarm_products);
  append(misdated, o.misdated);
}

double AlertScore::median_gap_days() const { return Median(gap_days); }

AlertScore ScoreAlerts(const std::vector<FileReview>& reviews, const PlantedTruth& truth,
                       const std::vector<ChangeFinding>& changes, const ScoreOptions& o) {
  std::map<std::string, std::vector<const ChangeFinding*>> open;
  for (const ChangeFinding& c : changes) {
    if (c.open && (o.kinds.empty() || o.kinds.count(c.kind))) open[c.product_id].push_back(&c);
  }
  std::map<std::string, std::vector<absl::Time>> times;
  for (const FileReview& r : reviews) times[r.product_id].push_back(r.created_at);
  AlertScore s;
  for (const auto& [product, since] : truth) {
    const auto alerts = open.find(product);
    const bool alerted = alerts != open.end();
    if (!since) {
      ++s.unchanged;
      if (alerted) {
        ++s.false_alarms;
        s.false_alarm_products.push_back(product);
      }
      continue;
    }
    const auto& t = times[product];
    const int after =
        static_cast<int>(std::count_if(t.begin(), t.end(), [&](absl::Time x) { return x >= *since; }));
    if (after < o.min_after) continue;
    ++s.eligible;
    if (!alerted) {
      s.missed.push_back(product);
      continue;
    }
    ++s.detected;
    double best = 1e18, gap = 0;
    bool inside = false, covered = false;
    const absl::Duration margin = absl::Hours(24) * o.max_date_error_days;
    for (const ChangeFinding* c : alerts->second) {
      const double error = std::fabs(absl::ToDoubleHours(c->since - *since)) / 24;
      if (error < best) best = error, gap = absl::ToDoubleHours(c->since - c->changed_after) / 24;
      // changed_after unset (InfinitePast) leaves the interval open below: no alert of this code does that.
      inside = inside || (*since >= c->changed_after - margin && *since <= c->since + margin);
      const bool ranged = c->since_earliest != absl::InfinitePast();
      const absl::Time from = ranged ? c->since_earliest : c->changed_after;
      const absl::Time to = ranged ? c->since_latest : c->since;
      covered = covered || (*since >= from - margin && *since <= to + margin);
      if (ranged) {
        absl::Time before = absl::InfinitePast();  // the last review before since_earliest
        for (absl::Time x : t)
          if (x < from) before = std::max(before, x);
        s.range_covered_exact += *since > before && *since <= to;
        s.range_days.push_back(absl::ToDoubleHours(to - from) / 24);
        s.range_reviews.push_back(static_cast<double>(
            std::count_if(t.begin(), t.end(), [&](absl::Time x) { return x >= from && x < to; })));
      }
    }
    s.range_covered += covered;
    s.gap_days.push_back(gap);
    s.in_interval += inside;
    if (best <= o.max_date_error_days) {
      ++s.dated;
    } else {
      s.misdated.push_back(product);
    }
  }
  return s;
}

}  // namespace marketlens::analyzer
