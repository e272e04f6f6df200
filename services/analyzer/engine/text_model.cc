#include "services/analyzer/engine/text_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace marketlens::analyzer {
namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;
constexpr char kMagic[] = "NBLR1";

uint64_t Fnv(uint64_t h, absl::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}
uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t h = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}
bool AllDigits(absl::string_view w) {
  for (char c : w) {
    if (!(c >= '0' && c <= '9') && c != '.') return false;
  }
  return !w.empty();
}
bool IsContrastWord(absl::string_view w) { return w == "but" || w == "however" || w == "although"; }

uint64_t UnigramHash(absl::string_view word, bool negated) {
  uint64_t h = kFnvOffset;
  if (negated) h = Fnv(h, "!");
  return Fnv(h, AllDigits(word) ? absl::string_view("#num") : word);
}

double Sigmoid(double z) {
  if (z >= 0) return 1 / (1 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1 + e);
}

template <typename T>
void Put(std::string* out, const T& v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <typename T>
bool Get(absl::string_view* in, T* v) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(v, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}
void PutString(std::string* out, absl::string_view s) {
  Put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s.data(), s.size());
}
bool GetString(absl::string_view* in, std::string* s) {
  uint32_t n;
  if (!Get(in, &n) || in->size() < n) return false;
  s->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

constexpr size_t kCancelCheckEvery = 1024;

bool Cancelled(const TrainOptions& o) {
  return o.cancel != nullptr && o.cancel->load(std::memory_order_relaxed);
}

absl::Status CancelledStatus() { return absl::CancelledError("training cancelled"); }

}  // namespace

void ExtractFeatures(const TokenizedText& text, uint32_t first, uint32_t end, int hash_bits,
                     std::vector<uint32_t>* out) {
  const uint64_t mask = (uint64_t{1} << hash_bits) - 1;
  for (const Sentence& s : text.sentences) {
    const uint32_t b = std::max(s.first_token, first);
    const uint32_t e = std::min(s.end_token, end);
    if (b >= e) continue;
    int scope = 0;
    uint64_t prev = 0;
    bool have_prev = false;
    for (uint32_t i = b; i < e; ++i) {
      const Token& t = text.tokens[i];
      if (t.kind == TokenKind::kPunct) {
        scope = 0;
        have_prev = false;
        continue;
      }
      const bool negator = t.kind == TokenKind::kWord && IsNegator(t.lower);
      if (t.kind == TokenKind::kWord && IsContrastWord(t.lower)) scope = 0;
      const uint64_t h = UnigramHash(t.lower, scope > 0 && !negator);
      out->push_back(static_cast<uint32_t>(Mix(h, 1) & mask));
      if (have_prev) out->push_back(static_cast<uint32_t>(Mix(prev, h) & mask));
      prev = h;
      have_prev = true;
      if (negator) {
        scope = 3;
      } else if (scope > 0) {
        --scope;
      }
    }
  }
}

absl::StatusOr<TextModel> TextModel::Train(const std::vector<RatedText>& examples,
                                           const TrainOptions& options, const TokenizerOptions& tokenizer) {
  if (options.hash_bits < 10 || options.hash_bits > 26) {
    return absl::InvalidArgumentError("hash_bits must be 10..26");
  }
  const size_t dim = size_t{1} << options.hash_bits;
  struct Example {
    std::vector<uint32_t> features;
    bool positive;
  };
  std::vector<Example> data;
  data.reserve(examples.size());
  absl::flat_hash_map<std::string, int> word_counts;
  TokenizedText tt;
  TokenizerOptions topts = tokenizer;
  topts.max_bytes = std::min<size_t>(topts.max_bytes, 8192);
  size_t seen = 0;
  for (const RatedText& ex : examples) {
    if (++seen % kCancelCheckEvery == 0 && Cancelled(options)) return CancelledStatus();
    if (ex.rating < 1 || ex.rating > 5 || ex.rating == 3) continue;
    Tokenize(ex.text, topts, &tt);
    Example e;
    e.positive = ex.rating >= 4;
    ExtractFeatures(tt, 0, static_cast<uint32_t>(tt.tokens.size()), options.hash_bits, &e.features);
    std::sort(e.features.begin(), e.features.end());
    e.features.erase(std::unique(e.features.begin(), e.features.end()), e.features.end());
    if (e.features.empty()) continue;
    if (options.top_words > 0) {
      for (const Token& t : tt.tokens) {
        if (t.kind == TokenKind::kWord && t.lower.size() >= 3 && !AllDigits(t.lower)) ++word_counts[t.lower];
      }
    }
    data.push_back(std::move(e));
  }
  std::mt19937_64 rng(options.seed);
  std::shuffle(data.begin(), data.end(), rng);
  const size_t holdout =
      options.holdout > 0 ? static_cast<size_t>(data.size() * std::min(options.holdout, 0.5)) : 0;
  const size_t n_train = data.size() - holdout;
  int64_t pos = 0, neg = 0;
  for (size_t i = 0; i < n_train; ++i) (data[i].positive ? pos : neg)++;
  if (static_cast<int>(n_train) < options.min_examples || pos == 0 || neg == 0) {
    return absl::FailedPreconditionError(absl::StrCat("not enough rated reviews to train: ", pos,
                                                      " positive and ", neg, " negative (need ",
                                                      options.min_examples, " with both classes)"));
  }

  if (Cancelled(options)) return CancelledStatus();
  // Naive-Bayes log-count ratios.
  std::vector<float> p(dim, 0.f), q(dim, 0.f);
  double p_total = 0, q_total = 0;
  for (size_t i = 0; i < n_train; ++i) {
    auto& counts = data[i].positive ? p : q;
    for (uint32_t f : data[i].features) counts[f] += 1;
    (data[i].positive ? p_total : q_total) += data[i].features.size();
  }
  const double a = options.nb_alpha;
  const double p_norm = std::log(p_total + a * dim), q_norm = std::log(q_total + a * dim);
  std::vector<float> r(dim);
  for (size_t f = 0; f < dim; ++f) {
    r[f] = static_cast<float>((std::log(p[f] + a) - p_norm) - (std::log(q[f] + a) - q_norm));
  }
  p.clear();
  p.shrink_to_fit();
  q.clear();
  q.shrink_to_fit();

  // Logistic regression on r-scaled binary features, AdaGrad, balanced class weights.
  std::vector<float> w(dim, 0.f), g2(dim, 0.f);
  double bias = 0, bias_g2 = 0;
  const double w_pos = static_cast<double>(n_train) / (2.0 * pos);
  const double w_neg = static_cast<double>(n_train) / (2.0 * neg);
  std::vector<size_t> order(n_train);
  std::iota(order.begin(), order.end(), 0);
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    if (Cancelled(options)) return CancelledStatus();
    if (options.on_epoch) options.on_epoch(epoch);
    std::shuffle(order.begin(), order.end(), rng);
    size_t step = 0;
    for (size_t idx : order) {
      if (++step % kCancelCheckEvery == 0 && Cancelled(options)) return CancelledStatus();
      const Example& e = data[idx];
      double z = bias;
      for (uint32_t f : e.features) z += w[f] * r[f];
      const double y = e.positive ? 1.0 : 0.0;
      const double g = (Sigmoid(z) - y) * (e.positive ? w_pos : w_neg);
      for (uint32_t f : e.features) {
        const double grad = g * r[f] + options.l2 * w[f];
        g2[f] += static_cast<float>(grad * grad);
        w[f] -= static_cast<float>(options.learning_rate * grad / std::sqrt(g2[f] + 1e-8));
      }
      bias_g2 += g * g;
      bias -= options.learning_rate * g / std::sqrt(bias_g2 + 1e-8);
    }
  }

  TextModel model;
  model.hash_bits_ = options.hash_bits;
  model.bias_ = bias;
  model.weights_.assign(dim, 0.f);
  for (size_t f = 0; f < dim; ++f) model.weights_[f] = w[f] * r[f];
  model.info_.examples = static_cast<int64_t>(n_train);
  model.info_.positives = pos;
  model.info_.negatives = neg;
  if (holdout > 0) {
    int64_t correct = 0;
    for (size_t i = n_train; i < data.size(); ++i) {
      double z = bias;
      for (uint32_t f : data[i].features) z += model.weights_[f];
      correct += (z > 0) == data[i].positive;
    }
    model.info_.holdout_examples = static_cast<int64_t>(holdout);
    model.info_.holdout_accuracy = static_cast<double>(correct) / holdout;
  }
  // The induced lexicon: frequent words by their unigram weight.
  const uint64_t mask = dim - 1;
  std::vector<std::pair<std::string, double>> scored;
  for (const auto& [word, count] : word_counts) {
    if (count < 5) continue;
    const double weight = model.weights_[Mix(UnigramHash(word, false), 1) & mask];
    scored.emplace_back(word, weight);
  }
  std::sort(scored.begin(), scored.end(), [](const auto& x, const auto& y) {
    return x.second != y.second ? x.second > y.second : x.first < y.first;
  });
  for (size_t i = 0; i < scored.size() && static_cast<int>(model.top_positive_.size()) < options.top_words;
       ++i) {
    if (scored[i].second > 0) model.top_positive_.push_back(scored[i]);
  }
  for (size_t i = scored.size(); i > 0 && static_cast<int>(model.top_negative_.size()) < options.top_words;
       --i) {
    if (scored[i - 1].second < 0) model.top_negative_.push_back(scored[i - 1]);
  }
  // Version: a hash of the weights.
  uint64_t h = kFnvOffset;
  h = Fnv(h, absl::string_view(reinterpret_cast<const char*>(model.weights_.data()),
                               model.weights_.size() * sizeof(float)));
  h = Fnv(h, absl::string_view(reinterpret_cast<const char*>(&model.bias_), sizeof(double)));
  model.info_.version = absl::StrFormat("nblr-%016x", h);
  return model;
}

double TextModel::Probability(const TokenizedText& text, uint32_t first, uint32_t end) const {
  thread_local std::vector<uint32_t> features;
  features.clear();
  ExtractFeatures(text, first, end, hash_bits_, &features);
  if (features.empty()) return 0.5;
  std::sort(features.begin(), features.end());
  double z = bias_;
  uint32_t last = UINT32_MAX;
  for (uint32_t f : features) {
    if (f == last) continue;  // binary features
    last = f;
    z += weights_[f];
  }
  return Sigmoid(z);
}

std::string TextModel::Serialize() const {
  std::string out(kMagic);
  Put<uint32_t>(&out, static_cast<uint32_t>(hash_bits_));
  Put<double>(&out, bias_);
  PutString(&out, info_.version);
  Put<int64_t>(&out, info_.examples);
  Put<int64_t>(&out, info_.positives);
  Put<int64_t>(&out, info_.negatives);
  Put<double>(&out, info_.holdout_accuracy);
  Put<int64_t>(&out, info_.holdout_examples);
  uint32_t nonzero = 0;
  for (float v : weights_) nonzero += v != 0.f;
  Put<uint32_t>(&out, nonzero);
  for (uint32_t f = 0; f < weights_.size(); ++f) {
    if (weights_[f] == 0.f) continue;
    Put<uint32_t>(&out, f);
    Put<float>(&out, weights_[f]);
  }
  for (const auto* list : {&top_positive_, &top_negative_}) {
    Put<uint32_t>(&out, static_cast<uint32_t>(list->size()));
    for (const auto& [word, weight] : *list) {
      PutString(&out, word);
      Put<double>(&out, weight);
    }
  }
  return out;
}

absl::StatusOr<TextModel> TextModel::Deserialize(absl::string_view in) {
  auto bad = [](absl::string_view what) { return absl::DataLossError(absl::StrCat("text model: ", what)); };
  if (in.substr(0, 5) != kMagic) return bad("not an NB-LR model (bad magic)");
  in.remove_prefix(5);
  TextModel m;
  uint32_t bits;
  if (!Get(&in, &bits) || bits < 10 || bits > 26) return bad("bad hash_bits");
  m.hash_bits_ = static_cast<int>(bits);
  if (!Get(&in, &m.bias_) || !GetString(&in, &m.info_.version) || !Get(&in, &m.info_.examples) ||
      !Get(&in, &m.info_.positives) || !Get(&in, &m.info_.negatives) ||
      !Get(&in, &m.info_.holdout_accuracy) || !Get(&in, &m.info_.holdout_examples)) {
    return bad("truncated header");
  }
  uint32_t nonzero;
  if (!Get(&in, &nonzero)) return bad("truncated");
  m.weights_.assign(size_t{1} << bits, 0.f);
  for (uint32_t k = 0; k < nonzero; ++k) {
    uint32_t f;
    float v;
    if (!Get(&in, &f) || !Get(&in, &v)) return bad("truncated weights");
    if (f >= m.weights_.size() || !std::isfinite(v)) return bad("weight out of range");
    m.weights_[f] = v;
  }
  for (auto* list : {&m.top_positive_, &m.top_negative_}) {
    uint32_t n;
    if (!Get(&in, &n) || n > 100000) return bad("truncated word list");
    for (uint32_t k = 0; k < n; ++k) {
      std::string word;
      double weight;
      if (!GetString(&in, &word) || !Get(&in, &weight)) return bad("truncated word list");
      list->emplace_back(std::move(word), weight);
    }
  }
  if (!in.empty()) return bad("trailing bytes");
  return m;
}

}  // namespace marketlens::analyzer
