#include "services/recommender/algo/content.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace marketlens::recommender {
namespace {

const absl::flat_hash_set<std::string>& StopWords() {
  static const auto* words = new absl::flat_hash_set<std::string>{
      "a",  "an", "and",  "are", "as",   "at", "be",   "by",   "for", "from", "in",  "is", "it", "of",
      "on", "or", "that", "the", "this", "to", "with", "your", "you", "our",  "its", "de", "la", "le"};
  return *words;
}

void Normalize(SparseVector& v) {
  double s = 0;
  for (const auto& [f, x] : v) s += double(x) * x;
  if (s <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (auto& [f, x] : v) x *= inv;
}

}  // namespace

std::vector<std::string> Tokenize(absl::string_view text) {
  std::vector<std::string> out;
  std::string current;
  auto flush = [&] {
    if (current.size() >= 2) {
      const bool numeric =
          std::all_of(current.begin(), current.end(), [](char c) { return absl::ascii_isdigit(c); });
      if ((!numeric || current.size() >= 4) && !StopWords().contains(current)) out.push_back(current);
    }
    current.clear();
  };
  for (char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || (static_cast<unsigned char>(c) >= 0x80)) {
      current.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

absl::flat_hash_map<std::string, float> ContentIndex::Features(const ItemInfo& info) const {
  absl::flat_hash_map<std::string, float> tf;
  for (const std::string& w : Tokenize(info.title)) tf[absl::StrCat("w:", w)] += options_.title_weight;
  for (const std::string& w : Tokenize(info.description))
    tf[absl::StrCat("w:", w)] += options_.description_weight;
  if (!info.category.empty())
    tf[absl::StrCat("c:", absl::AsciiStrToLower(info.category))] += options_.category_weight;
  if (!info.brand.empty()) tf[absl::StrCat("b:", absl::AsciiStrToLower(info.brand))] += options_.brand_weight;
  for (const auto& [k, v] : info.attributes) {
    tf[absl::StrCat("a:", absl::AsciiStrToLower(k), "=", absl::AsciiStrToLower(v))] +=
        options_.attribute_weight;
  }
  return tf;
}

void ContentIndex::Build(const std::vector<ItemInfo>& items) {
  vocabulary_.clear();
  std::vector<absl::flat_hash_map<std::string, float>> features(items.size());
  absl::flat_hash_map<std::string, int32_t> df;
  for (size_t i = 0; i < items.size(); ++i) {
    features[i] = Features(items[i]);
    for (const auto& [f, w] : features[i]) ++df[f];
  }
  const double n = static_cast<double>(items.size());
  std::vector<std::string> names;
  for (const auto& [f, count] : df) {
    if (items.size() >= 20 && count > options_.max_df * n) continue;
    names.push_back(f);
  }
  std::sort(names.begin(), names.end());  // deterministic feature ids
  idf_.clear();
  for (const std::string& f : names) {
    vocabulary_[f] = static_cast<int32_t>(idf_.size());
    idf_.push_back(static_cast<float>(std::log((n + 1) / (df[f] + 1)) + 1));
  }
  vectors_.assign(items.size(), {});
  postings_.assign(idf_.size(), {});
  for (size_t i = 0; i < items.size(); ++i) {
    SparseVector& v = vectors_[i];
    for (const auto& [f, tf] : features[i]) {
      auto it = vocabulary_.find(f);
      if (it != vocabulary_.end()) v.emplace_back(it->second, tf * idf_[it->second]);
    }
    std::sort(v.begin(), v.end());
    Normalize(v);
    for (const auto& [f, x] : v) postings_[f].emplace_back(static_cast<int32_t>(i), x);
  }
}

SparseVector ContentIndex::Vectorize(const ItemInfo& info) const {
  SparseVector v;
  for (const auto& [f, tf] : Features(info)) {
    auto it = vocabulary_.find(f);
    if (it != vocabulary_.end()) v.emplace_back(it->second, tf * idf_[it->second]);
  }
  std::sort(v.begin(), v.end());
  Normalize(v);
  return v;
}

std::vector<ScoredItem> ContentIndex::Similar(const SparseVector& v, int k, int32_t exclude) const {
  // Dense accumulator per thread (serving calls this per request): no hashing, reset via the touched list.
  thread_local std::vector<float> acc;
  thread_local std::vector<int32_t> touched;
  if (acc.size() < vectors_.size()) acc.assign(vectors_.size(), 0.0f);
  touched.clear();
  for (const auto& [f, x] : v) {
    for (const auto& [item, y] : postings_[f]) {
      if (acc[item] == 0) touched.push_back(item);
      acc[item] += x * y;
    }
  }
  std::vector<ScoredItem> out;
  out.reserve(touched.size());
  for (int32_t item : touched) {
    const float s = acc[item];
    acc[item] = 0;
    if (item != exclude && s > 0) out.push_back({item, s});
  }
  auto better = [](const ScoredItem& a, const ScoredItem& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  };
  if (static_cast<int>(out.size()) > k) {
    std::partial_sort(out.begin(), out.begin() + k, out.end(), better);
    out.resize(k);
  } else {
    std::sort(out.begin(), out.end(), better);
  }
  return out;
}

NeighborLists ContentIndex::AllNeighbors() const {
  return BuildNeighborLists(size(), options_.neighbors, 0.0f, options_.threads,
                            [&](int32_t i, std::vector<float>& acc, std::vector<int32_t>& touched) {
                              for (const auto& [f, x] : vectors_[i]) {
                                for (const auto& [j, y] : postings_[f]) {
                                  if (acc[j] == 0) touched.push_back(j);
                                  acc[j] += x * y;
                                }
                              }
                            });
}

float ContentIndex::Cosine(int32_t a, int32_t b) const {
  const SparseVector& x = vectors_[a];
  const SparseVector& y = vectors_[b];
  float s = 0;
  size_t i = 0, j = 0;
  while (i < x.size() && j < y.size()) {
    if (x[i].first == y[j].first) {
      s += x[i++].second * y[j++].second;
    } else if (x[i].first < y[j].first) {
      ++i;
    } else {
      ++j;
    }
  }
  return s;
}

Params ContentModel::params() const {
  return {{"neighbors", absl::StrCat(options_.neighbors)},
          {"category_weight", absl::StrCat(options_.category_weight)},
          {"description_weight", absl::StrCat(options_.description_weight)}};
}

absl::Status ContentModel::Fit(const TrainingData& data) {
  if (!data.has_item_info) {
    return absl::FailedPreconditionError("content: no item metadata (give an items file)");
  }
  index_.Build(data.item_info);
  neighbors_ = index_.AllNeighbors();
  return absl::OkStatus();
}

void ContentModel::Score(int32_t, const UserHistory& history, absl::Span<float> out) const {
  Fill(out, 0);
  ScoreFromNeighbors(neighbors_, history, /*binary=*/true, out);
}

}  // namespace marketlens::recommender
