#include "services/recommender/algo/copurchase.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/recommender/data/hygiene.h"

namespace marketlens::recommender {
namespace {

const char* BasketName(BasketBy b) {
  switch (b) {
    case BasketBy::kAuto:
      return "auto";
    case BasketBy::kSession:
      return "session";
    case BasketBy::kUserDay:
      return "user_day";
    case BasketBy::kUser:
      return "user";
  }
  return "?";
}

}  // namespace

Params CoPurchaseModel::params() const {
  return {{"basket", BasketName(basket_used_ == BasketBy::kAuto ? options_.basket : basket_used_)},
          {"purchases_only", options_.purchases_only ? "true" : "false"},
          {"min_support", absl::StrCat(options_.min_support)},
          {"shrink", absl::StrCat(options_.shrink)},
          {"neighbors", absl::StrCat(options_.neighbors)}};
}

absl::Status CoPurchaseModel::Fit(const TrainingData& data) {
  bool has_purchases = false;
  for (const Event& e : data.events) has_purchases |= e.type == EventType::kPurchase;
  const bool purchases_only = options_.purchases_only && has_purchases;
  basket_used_ = options_.basket;
  if (basket_used_ == BasketBy::kAuto)
    basket_used_ = data.sessions > 0 ? BasketBy::kSession : BasketBy::kUser;

  // Basket key -> distinct items.
  absl::flat_hash_map<int64_t, std::vector<int32_t>> baskets;
  for (const Event& e : data.events) {
    if (!IsPositive(e.type) || (purchases_only && e.type != EventType::kPurchase)) continue;
    int64_t key;
    switch (basket_used_) {
      case BasketBy::kSession:
        if (e.session < 0) continue;
        key = e.session;
        break;
      case BasketBy::kUserDay:
        key = (static_cast<int64_t>(e.user) << 24) ^ (e.timestamp / 86400);
        break;
      default:
        key = e.user;
    }
    baskets[key].push_back(e.item);
  }
  std::vector<Triplet> triplets;
  int32_t row = 0;
  for (auto& [key, items] : baskets) {
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    if (items.size() < 2 || static_cast<int>(items.size()) > options_.max_basket) continue;
    for (int32_t i : items) triplets.push_back({row, i, 1.0f});
    ++row;
  }
  baskets_ = row;
  const CsrMatrix basket_items = CsrMatrix::FromTriplets(row, data.num_items(), std::move(triplets));
  const CsrMatrix item_baskets = basket_items.Transpose();
  const double n = std::max<int64_t>(1, baskets_);
  const int min_support = options_.min_support;
  const float shrink = options_.shrink;
  neighbors_ = BuildNeighborLists(data.num_items(), options_.neighbors, 0.0f, options_.threads,
                                  [&](int32_t i, std::vector<float>& acc, std::vector<int32_t>& touched) {
                                    for (int32_t b : item_baskets.RowIndices(i)) {
                                      for (int32_t j : basket_items.RowIndices(b)) {
                                        if (acc[j] == 0) touched.push_back(j);
                                        acc[j] += 1;
                                      }
                                    }
                                    const double ci = item_baskets.RowSize(i);
                                    for (int32_t j : touched) {
                                      const double cij = acc[j];
                                      if (cij < min_support) {
                                        acc[j] = 0;
                                        continue;
                                      }
                                      const double lift = cij * n / (ci * item_baskets.RowSize(j));
                                      acc[j] = static_cast<float>(lift * cij / (cij + shrink));
                                    }
                                  });
  return absl::OkStatus();
}

void CoPurchaseModel::Score(int32_t, const UserHistory& history, absl::Span<float> out) const {
  Fill(out, 0);
  ScoreFromNeighbors(neighbors_, history, /*binary=*/true, out);
}

}  // namespace marketlens::recommender
