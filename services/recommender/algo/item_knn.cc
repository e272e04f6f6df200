#include "services/recommender/algo/item_knn.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace marketlens::recommender {

Params ItemKnnModel::params() const {
  Params p{{"neighbors", absl::StrCat(options_.neighbors)},
           {"shrink", absl::StrCat(options_.shrink)},
           {"bm25", options_.bm25 ? "true" : "false"}};
  if (options_.bm25) {
    p["bm25_k1"] = absl::StrCat(options_.bm25_k1);
    p["bm25_b"] = absl::StrCat(options_.bm25_b);
  } else {
    p["binary"] = options_.binary ? "true" : "false";
  }
  return p;
}

absl::Status ItemKnnModel::Fit(const TrainingData& data) {
  if (options_.neighbors < 1) return absl::InvalidArgumentError("item_knn: neighbors must be >= 1");
  // The weighted user x item matrix w (same structure as user_items).
  CsrMatrix w = data.user_items;
  const int32_t items = data.num_items();
  if (options_.bm25) {
    // Items are documents, users are terms.
    std::vector<double> item_len(items, 0);
    for (int64_t k = 0; k < w.nnz(); ++k) item_len[w.indices[k]] += w.values[k];
    double avg = 0;
    int nonempty = 0;
    for (double l : item_len) {
      if (l > 0) {
        avg += l;
        ++nonempty;
      }
    }
    avg = nonempty > 0 ? avg / nonempty : 1;
    const double n_docs = std::max(1, items);
    for (int32_t u = 0; u < w.rows; ++u) {
      const double df = w.RowSize(u);
      const double idf = std::max(0.0, std::log(n_docs) - std::log1p(df));
      for (int64_t k = w.indptr[u]; k < w.indptr[u + 1]; ++k) {
        const double tf = w.values[k];
        const double norm = (1 - options_.bm25_b) + options_.bm25_b * item_len[w.indices[k]] / avg;
        w.values[k] = static_cast<float>(tf * (options_.bm25_k1 + 1) / (options_.bm25_k1 * norm + tf) * idf);
      }
    }
  } else if (options_.binary) {
    for (float& v : w.values) v = 1;
  }
  const CsrMatrix wt = w.Transpose();
  std::vector<float> norm(items, 0);
  for (int32_t i = 0; i < items; ++i) {
    double s = 0;
    for (float v : wt.RowValues(i)) s += double(v) * v;
    norm[i] = static_cast<float>(std::sqrt(s));
  }
  const int max_user_items = options_.max_user_items;
  const float shrink = options_.shrink;
  neighbors_ = BuildNeighborLists(items, options_.neighbors, 0.0f, options_.threads,
                                  [&](int32_t i, std::vector<float>& acc, std::vector<int32_t>& touched) {
                                    if (norm[i] == 0) return;
                                    auto users = wt.RowIndices(i);
                                    auto wi = wt.RowValues(i);
                                    for (size_t n = 0; n < users.size(); ++n) {
                                      const int32_t u = users[n];
                                      if (w.RowSize(u) > max_user_items) continue;
                                      auto js = w.RowIndices(u);
                                      auto wj = w.RowValues(u);
                                      for (size_t m = 0; m < js.size(); ++m) {
                                        if (acc[js[m]] == 0) touched.push_back(js[m]);
                                        acc[js[m]] += wi[n] * wj[m];
                                      }
                                    }
                                    std::sort(touched.begin(), touched.end());
                                    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
                                    for (int32_t j : touched) {
                                      if (acc[j] != 0) acc[j] /= norm[i] * norm[j] + shrink;
                                    }
                                  });
  return absl::OkStatus();
}

void ItemKnnModel::Score(int32_t, const UserHistory& history, absl::Span<float> out) const {
  Fill(out, 0);
  ScoreFromNeighbors(neighbors_, history, options_.binary || options_.bm25, out);
}

}  // namespace marketlens::recommender
