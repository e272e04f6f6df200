#include "services/analyzer/engine/text_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/macros.h"
#include "services/analyzer/engine/lbfgs.h"

namespace marketlens::analyzer {
namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;
constexpr char kMagic[] = "TFLR2";
constexpr char kOldMagic[] = "NBLR1";

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

namespace {

// Sorted, de-duplicated bucket ids with their counts.
void CountFeatures(std::vector<uint32_t>* ids, std::vector<std::pair<uint32_t, float>>* out) {
  std::sort(ids->begin(), ids->end());
  out->clear();
  for (size_t i = 0; i < ids->size();) {
    size_t j = i;
    while (j < ids->size() && (*ids)[j] == (*ids)[i]) ++j;
    out->emplace_back((*ids)[i], static_cast<float>(j - i));
    i = j;
  }
}

double Sublinear(float tf) { return 1.0 + std::log(static_cast<double>(tf)); }

// The stacker: P = sigmoid(a z + l lexicon + b) fitted, class-balanced, on out-of-fold margins z (so the
// text model's overfitting on its own training data does not hide how much the lexicon adds). A weak pull
// towards (1, 0, 0) keeps small data from producing extreme values. Returns {a, l, b}.
struct StackPoint {
  double z, lexicon;
  bool positive;
};
std::array<double, 3> FitStacker(const std::vector<StackPoint>& points, bool use_lexicon) {
  int64_t pos = 0;
  for (const StackPoint& p : points) pos += p.positive;
  const int64_t neg = static_cast<int64_t>(points.size()) - pos;
  if (pos == 0 || neg == 0) return {1, 0, 0};
  const double wp = points.size() / (2.0 * pos), wn = points.size() / (2.0 * neg);
  std::vector<double> x = {1, 0, 0};
  Objective f = [&](const std::vector<double>& v, std::vector<double>* g) {
    double loss = 0;
    std::fill(g->begin(), g->end(), 0.0);
    for (const StackPoint& p : points) {
      const double lex = use_lexicon ? p.lexicon : 0.0;
      const double t = v[0] * p.z + v[1] * lex + v[2];
      const double m = p.positive ? t : -t;
      const double w = p.positive ? wp : wn;
      loss += w * (m > 0 ? std::log1p(std::exp(-m)) : -m + std::log1p(std::exp(m)));
      const double d = w * (Sigmoid(t) - (p.positive ? 1.0 : 0.0));
      (*g)[0] += d * p.z;
      (*g)[1] += d * lex;
      (*g)[2] += d;
    }
    const double reg = 0.5;
    loss += 0.5 * reg * ((v[0] - 1) * (v[0] - 1) + v[1] * v[1] + v[2] * v[2]);
    (*g)[0] += reg * (v[0] - 1);
    (*g)[1] += reg * v[1];
    (*g)[2] += reg * v[2];
    return loss;
  };
  (void)MinimizeLbfgs(f, &x, {.max_iterations = 100});
  if (x[0] <= 0) x[0] = 1e-3;  // never invert the text model
  return {x[0], x[1], x[2]};
}

}  // namespace

absl::StatusOr<TextModel> TextModel::Train(const std::vector<RatedText>& examples,
                                           const TrainOptions& options, const TokenizerOptions& tokenizer) {
  if (options.hash_bits < 10 || options.hash_bits > 26) {
    return absl::InvalidArgumentError("hash_bits must be 10..26");
  }
  if (!(options.c > 0)) return absl::InvalidArgumentError("c must be > 0");
  const size_t dim = size_t{1} << options.hash_bits;
  struct Example {
    std::vector<std::pair<uint32_t, float>> features;  // bucket, count (later: compact index, tf-idf)
    float lexicon = 0;
    bool positive;
  };
  std::vector<Example> data;
  data.reserve(examples.size());
  absl::flat_hash_map<std::string, int> word_counts;
  TokenizedText tt;
  TokenizerOptions topts = tokenizer;
  topts.max_bytes = std::min<size_t>(topts.max_bytes, 8192);
  std::vector<uint32_t> ids;
  size_t seen = 0;
  for (const RatedText& ex : examples) {
    if (++seen % kCancelCheckEvery == 0 && Cancelled(options)) return CancelledStatus();
    if (ex.rating < 1 || ex.rating > 5 || ex.rating == 3) continue;
    Tokenize(ex.text, topts, &tt);
    Example e;
    e.positive = ex.rating >= 4;
    ids.clear();
    const uint32_t n_tokens = static_cast<uint32_t>(tt.tokens.size());
    ExtractFeatures(tt, 0, n_tokens, options.hash_bits, &ids);
    if (ids.empty()) continue;
    CountFeatures(&ids, &e.features);
    if (options.lexicon_score) e.lexicon = static_cast<float>(options.lexicon_score(tt, 0, n_tokens));
    if (options.top_words > 0) {
      for (const Token& t : tt.tokens) {
        if (t.kind == TokenKind::kWord && t.lower.size() >= 3 && !AllDigits(t.lower)) ++word_counts[t.lower];
      }
    }
    data.push_back(std::move(e));
  }
  std::mt19937_64 rng(options.seed);
  std::shuffle(data.begin(), data.end(), rng);
  const size_t n_train = data.size();
  int64_t pos = 0;
  for (const Example& e : data) pos += e.positive;
  const int64_t neg = static_cast<int64_t>(n_train) - pos;
  if (static_cast<int>(n_train) < options.min_examples || pos == 0 || neg == 0) {
    return absl::FailedPreconditionError(absl::StrCat("not enough rated reviews to train: ", pos,
                                                      " positive and ", neg, " negative (need ",
                                                      options.min_examples, " with both classes)"));
  }
  if (Cancelled(options)) return CancelledStatus();

  // Document frequencies, idf, and a compact index of the buckets seen.
  std::vector<uint32_t> df(dim, 0);
  for (const Example& e : data) {
    for (const auto& [f, c] : e.features) ++df[f];
  }
  TextModel model;
  model.hash_bits_ = options.hash_bits;
  model.default_idf_ = std::log((1.0 + n_train) / 1.0) + 1.0;
  model.idf_.assign(dim, static_cast<float>(model.default_idf_));
  std::vector<int32_t> compact(dim, -1);
  std::vector<uint32_t> bucket_of;
  for (size_t f = 0; f < dim; ++f) {
    if (df[f] == 0) continue;
    model.idf_[f] = static_cast<float>(std::log((1.0 + n_train) / (1.0 + df[f])) + 1.0);
    compact[f] = static_cast<int32_t>(bucket_of.size());
    bucket_of.push_back(static_cast<uint32_t>(f));
  }
  df.clear();
  df.shrink_to_fit();
  // Training rows: compact index, normalised tf-idf value.
  struct Row {
    std::vector<std::pair<uint32_t, float>> x;
    float lexicon;
    bool positive;
  };
  std::vector<Row> rows;
  rows.reserve(n_train);
  for (Example& e : data) {
    Row r;
    r.lexicon = e.lexicon;
    r.positive = e.positive;
    double norm = 0;
    for (const auto& [f, c] : e.features) {
      const double v = Sublinear(c) * model.idf_[f];
      norm += v * v;
      r.x.emplace_back(static_cast<uint32_t>(compact[f]), static_cast<float>(v));
    }
    norm = std::sqrt(norm);
    for (auto& [i, v] : r.x) v = static_cast<float>(v / norm);
    rows.push_back(std::move(r));
  }
  data.clear();
  data.shrink_to_fit();
  compact.clear();
  compact.shrink_to_fit();

  // Balanced, L2-regularised logistic regression on the text features of the rows whose fold differs from
  // `skip_fold` (-1: all rows): params = [w..., bias].
  const size_t m = bucket_of.size();
  const int folds = options.folds >= 2 ? options.folds : 1;
  const double inv_c = 1.0 / options.c;
  int iteration = 0;  // across all fits, for on_epoch
  auto fit = [&](int skip_fold) -> absl::StatusOr<std::vector<double>> {
    int64_t fp = 0, fn = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (static_cast<int>(i % folds) == skip_fold) continue;
      (rows[i].positive ? fp : fn)++;
    }
    if (fp == 0 || fn == 0) return absl::FailedPreconditionError("a fold without both classes");
    const double total = static_cast<double>(fp + fn);
    const double w_pos = total / (2.0 * fp), w_neg = total / (2.0 * fn);
    Objective objective = [&](const std::vector<double>& p, std::vector<double>* g) -> double {
      std::fill(g->begin(), g->end(), 0.0);
      double loss = 0;
      for (size_t k = 0; k < rows.size(); ++k) {
        if ((k + 1) % kCancelCheckEvery == 0 && Cancelled(options)) return std::nan("");
        if (static_cast<int>(k % folds) == skip_fold) continue;
        const Row& r = rows[k];
        double z = p[m];
        for (const auto& [i, v] : r.x) z += p[i] * v;
        const double cw = r.positive ? w_pos : w_neg;
        const double mz = r.positive ? z : -z;
        loss += cw * (mz > 0 ? std::log1p(std::exp(-mz)) : -mz + std::log1p(std::exp(mz)));
        const double d = cw * (Sigmoid(z) - (r.positive ? 1.0 : 0.0));
        for (const auto& [i, v] : r.x) (*g)[i] += d * v;
        (*g)[m] += d;
      }
      for (size_t i = 0; i < m; ++i) {
        loss += 0.5 * inv_c * p[i] * p[i];
        (*g)[i] += inv_c * p[i];
      }
      return loss;
    };
    std::vector<double> params(m + 1, 0.0);
    LbfgsOptions lopts;
    lopts.max_iterations = options.epochs;
    lopts.before_iteration = [&](int) -> absl::Status {
      if (Cancelled(options)) return CancelledStatus();
      if (options.on_epoch) options.on_epoch(iteration);
      ++iteration;
      return absl::OkStatus();
    };
    absl::Status fitted = MinimizeLbfgs(objective, &params, lopts);
    if (!fitted.ok()) return absl::IsCancelled(fitted) ? CancelledStatus() : fitted;
    if (Cancelled(options)) return CancelledStatus();
    return params;
  };
  auto margin = [&](const std::vector<double>& p, const Row& r) {
    double z = p[m];
    for (const auto& [i, v] : r.x) z += p[i] * v;
    return z;
  };

  // Cross-fitting: each row's margin from a model that did not see it; the stacker (calibration and the
  // lexicon's weight) is fitted on those, and they give the reported cross-validated figures.
  const bool use_lex = static_cast<bool>(options.lexicon_score) && folds >= 2;
  std::array<double, 3> stack = {1, 0, 0};
  if (folds >= 2) {
    std::vector<StackPoint> points(rows.size());
    for (int k = 0; k < folds; ++k) {
      ASSIGN_OR_RETURN(std::vector<double> p, fit(k));
      for (size_t i = k; i < rows.size(); i += folds)
        points[i] = {margin(p, rows[i]), rows[i].lexicon, rows[i].positive};
    }
    stack = FitStacker(points, use_lex);
    int64_t tp = 0, tn = 0;
    for (const StackPoint& sp : points) {
      const bool predicted = stack[0] * sp.z + stack[1] * (use_lex ? sp.lexicon : 0.0) + stack[2] > 0;
      (sp.positive ? tp : tn) += predicted == sp.positive;
    }
    model.info_.holdout_examples = static_cast<int64_t>(points.size());
    model.info_.holdout_accuracy = static_cast<double>(tp + tn) / points.size();
    model.info_.holdout_balanced_accuracy =
        (static_cast<double>(tp) / pos + static_cast<double>(tn) / neg) / 2;
  }
  ASSIGN_OR_RETURN(std::vector<double> params, fit(-1));
  rows.clear();

  model.bias_ = params[m];
  model.lexicon_weight_ = use_lex ? stack[1] : 0.0;
  model.calib_a_ = stack[0];
  model.calib_b_ = stack[2];
  model.weights_.assign(dim, 0.f);
  for (size_t i = 0; i < m; ++i) model.weights_[bucket_of[i]] = static_cast<float>(params[i]);
  model.info_.uses_lexicon = use_lex;
  model.info_.examples = static_cast<int64_t>(n_train);
  model.info_.positives = pos;
  model.info_.negatives = neg;
  // The induced lexicon: frequent words by their unigram weight (times idf: the weight of one occurrence).
  const uint64_t mask = dim - 1;
  std::vector<std::pair<std::string, double>> scored;
  for (const auto& [word, count] : word_counts) {
    if (count < 5) continue;
    const uint64_t f = Mix(UnigramHash(word, false), 1) & mask;
    scored.emplace_back(word, static_cast<double>(model.weights_[f]) * model.idf_[f]);
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
  // Version: a hash of the weights and the calibration.
  uint64_t h = kFnvOffset;
  h = Fnv(h, absl::string_view(reinterpret_cast<const char*>(model.weights_.data()),
                               model.weights_.size() * sizeof(float)));
  for (double v : {model.bias_, model.lexicon_weight_, model.calib_a_, model.calib_b_}) {
    h = Fnv(h, absl::string_view(reinterpret_cast<const char*>(&v), sizeof(double)));
  }
  model.info_.version = absl::StrFormat("tflr-%016x", h);
  return model;
}

double TextModel::Margin(const TokenizedText& text, uint32_t first, uint32_t end) const {
  thread_local std::vector<uint32_t> ids;
  thread_local std::vector<std::pair<uint32_t, float>> counts;
  ids.clear();
  ExtractFeatures(text, first, end, hash_bits_, &ids);
  double z = bias_;
  if (ids.empty()) return z;
  CountFeatures(&ids, &counts);
  double norm = 0, dot = 0;
  for (const auto& [f, c] : counts) {
    const double v = Sublinear(c) * idf_[f];
    norm += v * v;
    dot += weights_[f] * v;
  }
  return z + dot / std::sqrt(norm);
}

double TextModel::Probability(const TokenizedText& text, uint32_t first, uint32_t end,
                              double lexicon_score) const {
  const double lexicon = info_.uses_lexicon ? lexicon_weight_ * lexicon_score : 0.0;
  return Sigmoid(calib_a_ * Margin(text, first, end) + lexicon + calib_b_);
}

std::string TextModel::Serialize() const {
  std::string out(kMagic);
  Put<uint32_t>(&out, static_cast<uint32_t>(hash_bits_));
  for (double v : {bias_, lexicon_weight_, calib_a_, calib_b_, default_idf_}) Put<double>(&out, v);
  PutString(&out, info_.version);
  Put<int64_t>(&out, info_.examples);
  Put<int64_t>(&out, info_.positives);
  Put<int64_t>(&out, info_.negatives);
  Put<double>(&out, info_.holdout_accuracy);
  Put<double>(&out, info_.holdout_balanced_accuracy);
  Put<int64_t>(&out, info_.holdout_examples);
  Put<uint8_t>(&out, info_.uses_lexicon ? 1 : 0);
  const GateFigures& g = info_.gate;
  Put<int64_t>(&out, g.examples);
  for (double v :
       {g.rules_balanced_accuracy, g.rules_macro_f1, g.combined_balanced_accuracy, g.combined_macro_f1})
    Put<double>(&out, v);
  Put<uint8_t>(&out, g.passed ? 1 : 0);
  uint32_t stored = 0;
  for (uint32_t f = 0; f < weights_.size(); ++f)
    stored += weights_[f] != 0.f || idf_[f] != static_cast<float>(default_idf_);
  Put<uint32_t>(&out, stored);
  for (uint32_t f = 0; f < weights_.size(); ++f) {
    if (weights_[f] == 0.f && idf_[f] == static_cast<float>(default_idf_)) continue;
    Put<uint32_t>(&out, f);
    Put<float>(&out, weights_[f]);
    Put<float>(&out, idf_[f]);
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
  if (in.substr(0, 5) == kOldMagic) {
    return absl::FailedPreconditionError(
        "text model: an NB-LR model of an older engine; it must be retrained");
  }
  if (in.substr(0, 5) != kMagic) return bad("not a TF-IDF LR model (bad magic)");
  in.remove_prefix(5);
  TextModel m;
  uint32_t bits;
  if (!Get(&in, &bits) || bits < 10 || bits > 26) return bad("bad hash_bits");
  m.hash_bits_ = static_cast<int>(bits);
  uint8_t uses_lexicon = 0, passed = 0;
  GateFigures& g = m.info_.gate;
  if (!Get(&in, &m.bias_) || !Get(&in, &m.lexicon_weight_) || !Get(&in, &m.calib_a_) ||
      !Get(&in, &m.calib_b_) || !Get(&in, &m.default_idf_) || !GetString(&in, &m.info_.version) ||
      !Get(&in, &m.info_.examples) || !Get(&in, &m.info_.positives) || !Get(&in, &m.info_.negatives) ||
      !Get(&in, &m.info_.holdout_accuracy) || !Get(&in, &m.info_.holdout_balanced_accuracy) ||
      !Get(&in, &m.info_.holdout_examples) || !Get(&in, &uses_lexicon) || !Get(&in, &g.examples) ||
      !Get(&in, &g.rules_balanced_accuracy) || !Get(&in, &g.rules_macro_f1) ||
      !Get(&in, &g.combined_balanced_accuracy) || !Get(&in, &g.combined_macro_f1) || !Get(&in, &passed)) {
    return bad("truncated header");
  }
  m.info_.uses_lexicon = uses_lexicon != 0;
  g.passed = passed != 0;
  for (double v : {m.bias_, m.lexicon_weight_, m.calib_a_, m.calib_b_, m.default_idf_}) {
    if (!std::isfinite(v)) return bad("non-finite parameter");
  }
  uint32_t stored;
  if (!Get(&in, &stored)) return bad("truncated");
  m.weights_.assign(size_t{1} << bits, 0.f);
  m.idf_.assign(size_t{1} << bits, static_cast<float>(m.default_idf_));
  for (uint32_t k = 0; k < stored; ++k) {
    uint32_t f;
    float v, idf;
    if (!Get(&in, &f) || !Get(&in, &v) || !Get(&in, &idf)) return bad("truncated weights");
    if (f >= m.weights_.size() || !std::isfinite(v) || !std::isfinite(idf)) return bad("weight out of range");
    m.weights_[f] = v;
    m.idf_[f] = idf;
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
