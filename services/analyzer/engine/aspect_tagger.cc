#include "services/analyzer/engine/aspect_tagger.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/status/macros.h"
#include "services/analyzer/engine/aspect_features.h"

namespace marketlens::analyzer {
namespace {

constexpr int kO = 0, kB = 1, kI = 2, kStart = 3;
constexpr char kHeader[] = "marketlens-aspect-tagger 1";
const char* const kPolarities[3] = {"positive", "negative", "neutral"};

uint64_t Fnv1a(absl::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// Token span [first, end) covering bytes [begin, end) of the text; false when no token is inside.
bool CoveringTokens(const std::vector<TagToken>& tokens, uint32_t begin, uint32_t end, uint32_t* first,
                    uint32_t* last_end, bool* exact) {
  uint32_t f = UINT32_MAX, e = 0;
  for (uint32_t k = 0; k < tokens.size(); ++k) {
    if (tokens[k].end > begin && tokens[k].begin < end) {
      if (f == UINT32_MAX) f = k;
      e = k + 1;
    }
  }
  if (f == UINT32_MAX) return false;
  *first = f;
  *last_end = e;
  *exact = tokens[f].begin == begin && tokens[e - 1].end == end;
  return true;
}

// Viterbi over O/B/I with "I only after B or I". emissions[i][y]; transitions[prev][y] (prev 3 = start).
void Viterbi(const std::vector<std::array<float, 3>>& emissions,
             const std::array<std::array<float, 3>, 4>& transitions, std::vector<int>* tags) {
  const size_t n = emissions.size();
  tags->assign(n, kO);
  if (n == 0) return;
  constexpr float kNeg = -1e30f;
  std::vector<std::array<float, 3>> score(n);
  std::vector<std::array<int, 3>> back(n);
  for (int y = 0; y < 3; ++y) score[0][y] = y == kI ? kNeg : transitions[kStart][y] + emissions[0][y];
  for (size_t i = 1; i < n; ++i) {
    for (int y = 0; y < 3; ++y) {
      float best = kNeg;
      int arg = kO;
      for (int p = 0; p < 3; ++p) {
        if (y == kI && p == kO) continue;
        const float s = score[i - 1][p] + transitions[p][y];
        if (s > best) {
          best = s;
          arg = p;
        }
      }
      score[i][y] = best + emissions[i][y];
      back[i][y] = arg;
    }
  }
  int y = static_cast<int>(std::max_element(score[n - 1].begin(), score[n - 1].end()) - score[n - 1].begin());
  for (size_t i = n; i-- > 0;) {
    (*tags)[i] = y;
    if (i > 0) y = back[i][y];
  }
}

// Weights with averaging (Daumé's trick: avg = w - u / c, u accumulating c * delta).
struct Averaged {
  std::vector<float> w, u;
  void Resize(size_t n) {
    w.resize(n, 0);
    u.resize(n, 0);
  }
  void Add(size_t i, float delta, double c) {
    w[i] += delta;
    u[i] += static_cast<float>(c * delta);
  }
  float Final(size_t i, double c) const { return w[i] - u[i] / static_cast<float>(c); }
};

using FeatureIds = std::vector<std::vector<uint32_t>>;  // per token

uint32_t Intern(absl::flat_hash_map<std::string, uint32_t>* ids, std::vector<std::string>* names,
                const std::string& f) {
  auto [it, inserted] = ids->emplace(f, static_cast<uint32_t>(names->size()));
  if (inserted) names->push_back(f);
  return it->second;
}

void Softmax(std::array<double, 3>* s) {
  const double m = std::max({(*s)[0], (*s)[1], (*s)[2]});
  double z = 0;
  for (double& v : *s) z += (v = std::exp(v - m));
  for (double& v : *s) v /= z;
}

}  // namespace

AspectTagger::AspectTagger() = default;
AspectTagger::AspectTagger(AspectTagger&&) noexcept = default;
AspectTagger& AspectTagger::operator=(AspectTagger&&) noexcept = default;
AspectTagger::~AspectTagger() = default;

absl::StatusOr<AspectTagger> AspectTagger::Train(const std::vector<AnnotatedSentence>& sentences,
                                                 const AspectTrainOptions& options,
                                                 AspectTrainReport* report) {
  AspectTrainReport local;
  if (report == nullptr) report = &local;
  *report = {};
  if (sentences.empty()) return absl::InvalidArgumentError("no training sentences");
  if (options.dictionary_folds < 2) return absl::InvalidArgumentError("dictionary_folds must be >= 2");
  ASSIGN_OR_RETURN(auto featurizer, AspectFeaturizer::Create(options.category));
  auto cancelled = [&] { return options.cancel != nullptr && options.cancel->load(); };

  const size_t n = sentences.size();
  std::vector<std::vector<TagToken>> tokens(n);
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> spans(n);
  std::vector<std::vector<int>> gold(n);
  struct PolarityExample {
    size_t sentence;
    uint32_t first, end;
    int label;
  };
  std::vector<PolarityExample> polarity_examples;
  for (size_t s = 0; s < n; ++s) {
    TokenizeForTagging(sentences[s].text, &tokens[s]);
    gold[s].assign(tokens[s].size(), kO);
    for (const AnnotatedTerm& t : sentences[s].terms) {
      ++report->terms;
      uint32_t first, end;
      bool exact;
      if (!CoveringTokens(tokens[s], t.byte_from, t.byte_to, &first, &end, &exact)) continue;
      if (!exact) ++report->misaligned_terms;
      bool free = true;
      for (uint32_t k = first; k < end; ++k) free &= gold[s][k] == kO;
      if (!free) continue;  // overlapping annotations: the first one is kept
      for (uint32_t k = first; k < end; ++k) gold[s][k] = k == first ? kB : kI;
      spans[s].emplace_back(first, end);
      for (int c = 0; c < 3; ++c) {
        if (t.polarity == kPolarities[c]) polarity_examples.push_back({s, first, end, c});
      }
    }
  }
  report->sentences = static_cast<int>(n);

  // Dictionary features: each fold's sentences see a dictionary of the other folds only.
  const int folds = options.dictionary_folds;
  absl::flat_hash_map<std::string, uint32_t> ids;
  std::vector<std::string> names;
  std::vector<FeatureIds> features(n);
  std::vector<std::vector<std::string>> strings;
  for (int fold = 0; fold < folds; ++fold) {
    std::vector<const std::vector<TagToken>*> other_tokens;
    std::vector<const std::vector<std::pair<uint32_t, uint32_t>>*> other_spans;
    for (size_t s = 0; s < n; ++s) {
      if (static_cast<int>(s % folds) == fold) continue;
      other_tokens.push_back(&tokens[s]);
      other_spans.push_back(&spans[s]);
    }
    const TermDictionary dictionary = TermDictionary::Build(other_tokens, other_spans);
    for (size_t s = fold; s < n; s += folds) {
      if (cancelled()) return absl::CancelledError("aspect training cancelled");
      strings.assign(tokens[s].size(), {});
      std::vector<StringFeatures> sinks;
      std::vector<FeatureSink*> sink_ptrs;
      sinks.reserve(strings.size());
      for (auto& per_token : strings) sink_ptrs.push_back(&sinks.emplace_back(&per_token));
      featurizer->TokenFeatures(tokens[s], dictionary, sink_ptrs);
      features[s].resize(strings.size());
      for (size_t i = 0; i < strings.size(); ++i) {
        for (const std::string& f : strings[i]) features[s][i].push_back(Intern(&ids, &names, f));
      }
    }
  }

  // The averaged structured perceptron.
  Averaged w;
  w.Resize(names.size() * 3);
  Averaged t;
  t.Resize(12);
  std::array<std::array<float, 3>, 4> trans{};
  double c = 1;
  std::vector<size_t> order(n);
  for (size_t s = 0; s < n; ++s) order[s] = s;
  std::mt19937_64 rng(options.seed);
  std::vector<std::array<float, 3>> emissions;
  std::vector<int> predicted;
  for (int epoch = 0; epoch < options.tagger_epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t s : order) {
      if (cancelled()) return absl::CancelledError("aspect training cancelled");
      const FeatureIds& f = features[s];
      emissions.assign(f.size(), {0, 0, 0});
      for (size_t i = 0; i < f.size(); ++i) {
        for (uint32_t id : f[i]) {
          for (int y = 0; y < 3; ++y) emissions[i][y] += w.w[id * 3 + y];
        }
      }
      for (int p = 0; p < 4; ++p) {
        for (int y = 0; y < 3; ++y) trans[p][y] = t.w[p * 3 + y];
      }
      Viterbi(emissions, trans, &predicted);
      for (size_t i = 0; i < f.size(); ++i) {
        const int g = gold[s][i], p = predicted[i];
        if (g != p) {
          for (uint32_t id : f[i]) {
            w.Add(id * 3 + g, 1, c);
            w.Add(id * 3 + p, -1, c);
          }
        }
        const int gp = i == 0 ? kStart : gold[s][i - 1], pp = i == 0 ? kStart : predicted[i - 1];
        if (gp != pp || g != p) {
          t.Add(gp * 3 + g, 1, c);
          t.Add(pp * 3 + p, -1, c);
        }
      }
      c += 1;
    }
  }

  AspectTagger tagger;
  tagger.category_ = options.category;
  for (size_t id = 0; id < names.size(); ++id) {
    std::array<float, 3> v;
    bool any = false;
    for (int y = 0; y < 3; ++y) any |= (v[y] = w.Final(id * 3 + y, c)) != 0;
    if (any) tagger.tag_weights_.emplace(names[id], v);
  }
  for (int p = 0; p < 4; ++p) {
    for (int y = 0; y < 3; ++y) tagger.transitions_[p][y] = t.Final(p * 3 + y, c);
  }
  {
    std::vector<const std::vector<TagToken>*> all_tokens;
    std::vector<const std::vector<std::pair<uint32_t, uint32_t>>*> all_spans;
    for (size_t s = 0; s < n; ++s) {
      all_tokens.push_back(&tokens[s]);
      all_spans.push_back(&spans[s]);
    }
    tagger.dictionary_ = TermDictionary::Build(all_tokens, all_spans);
  }

  // Polarity: multinomial logistic regression by SGD, with averaged weights.
  absl::flat_hash_map<std::string, uint32_t> pids;
  std::vector<std::string> pnames;
  std::vector<std::vector<uint32_t>> pfeatures(polarity_examples.size());
  std::vector<std::string> fs;
  for (size_t e = 0; e < polarity_examples.size(); ++e) {
    const PolarityExample& ex = polarity_examples[e];
    fs.clear();
    StringFeatures sink(&fs);
    featurizer->PolarityFeatures(tokens[ex.sentence], ex.first, ex.end, sink);
    for (const std::string& f : fs) pfeatures[e].push_back(Intern(&pids, &pnames, f));
  }
  Averaged pw;
  pw.Resize(pnames.size() * 3);
  double pc = 1;
  std::vector<size_t> porder(polarity_examples.size());
  for (size_t e = 0; e < porder.size(); ++e) porder[e] = e;
  for (int epoch = 0; epoch < options.polarity_epochs; ++epoch) {
    std::shuffle(porder.begin(), porder.end(), rng);
    const double lr = options.polarity_learning_rate / (1 + epoch * 0.2);
    for (size_t e : porder) {
      if (cancelled()) return absl::CancelledError("aspect training cancelled");
      std::array<double, 3> p{0, 0, 0};
      for (uint32_t id : pfeatures[e]) {
        for (int y = 0; y < 3; ++y) p[y] += pw.w[id * 3 + y];
      }
      Softmax(&p);
      for (int y = 0; y < 3; ++y) {
        const double grad = (y == polarity_examples[e].label ? 1.0 : 0.0) - p[y];
        for (uint32_t id : pfeatures[e]) pw.Add(id * 3 + y, static_cast<float>(lr * grad), pc);
      }
      pc += 1;
    }
  }
  for (size_t id = 0; id < pnames.size(); ++id) {
    std::array<float, 3> v;
    bool any = false;
    for (int y = 0; y < 3; ++y) any |= (v[y] = pw.Final(id * 3 + y, pc)) != 0;
    if (any) tagger.polarity_weights_.emplace(pnames[id], v);
  }
  tagger.featurizer_ = std::move(featurizer);
  report->features = static_cast<int>(tagger.tag_weights_.size());
  // Through the file format, so that a trained model and the same model loaded answer alike.
  return Load(tagger.Serialize());
}

void AspectTagger::FinishLoad() {
  dictionary_.Recompute();
  tag_index_.clear();
  polarity_index_.clear();
  for (const auto& [name, w] : tag_weights_) tag_index_[FeatureHash({name})] = w;
  for (const auto& [name, w] : polarity_weights_) polarity_index_[FeatureHash({name})] = w;
  version_ = absl::StrFormat("at-%016x", Fnv1a(Serialize()));
}

std::string AspectTagger::Serialize() const {
  // Sorted, so that the same model always gives the same file (and version).
  std::string out = absl::StrCat(kHeader, "\ncategory\t", category_, "\ntransitions");
  for (const auto& row : transitions_) {
    for (float v : row) absl::StrAppend(&out, "\t", absl::StrFormat("%.6g", v));
  }
  out.push_back('\n');
  auto weights = [&](char kind, const absl::flat_hash_map<std::string, std::array<float, 3>>& m) {
    std::vector<const std::pair<const std::string, std::array<float, 3>>*> entries;
    for (const auto& e : m) entries.push_back(&e);
    std::sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
    for (const auto* e : entries) {
      absl::StrAppendFormat(&out, "%c\t%s\t%.6g\t%.6g\t%.6g\n", kind, e->first, e->second[0], e->second[1],
                            e->second[2]);
    }
  };
  weights('T', tag_weights_);
  weights('P', polarity_weights_);
  std::vector<std::pair<std::string, float>> dict(dictionary_.rate.begin(), dictionary_.rate.end());
  std::sort(dict.begin(), dict.end());
  for (const auto& [phrase, rate] : dict) absl::StrAppendFormat(&out, "D\t%s\t%.4g\n", phrase, rate);
  return out;
}

absl::StatusOr<AspectTagger> AspectTagger::Load(absl::string_view contents) {
  AspectTagger tagger;
  int line_no = 0;
  bool header = false, have_category = false;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++line_no;
    if (line.empty()) continue;
    auto fail = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat("aspect model line ", line_no, ": ", what));
    };
    if (!header) {
      if (line != kHeader) return fail(absl::StrCat("expected \"", kHeader, "\" (not an aspect model)"));
      header = true;
      continue;
    }
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    auto floats = [&](size_t from, size_t count, float* out) {
      if (f.size() != from + count) return false;
      for (size_t k = 0; k < count; ++k) {
        if (!absl::SimpleAtof(f[from + k], &out[k]) || !std::isfinite(out[k])) return false;
      }
      return true;
    };
    if (f[0] == "category" && f.size() == 2) {
      tagger.category_ = std::string(f[1]);
      have_category = true;
    } else if (f[0] == "transitions") {
      float v[12];
      if (!floats(1, 12, v)) return fail("transitions needs 12 numbers");
      for (int k = 0; k < 12; ++k) tagger.transitions_[k / 3][k % 3] = v[k];
    } else if ((f[0] == "T" || f[0] == "P") && f.size() == 5) {
      std::array<float, 3> v;
      if (!floats(2, 3, v.data())) return fail("bad weights");
      (f[0] == "T" ? tagger.tag_weights_ : tagger.polarity_weights_).emplace(std::string(f[1]), v);
    } else if (f[0] == "D" && f.size() == 3) {
      float rate;
      if (!absl::SimpleAtof(f[2], &rate)) return fail("bad dictionary rate");
      tagger.dictionary_.rate.emplace(std::string(f[1]), rate);
    } else {
      return fail(absl::StrCat("unknown entry \"", f[0], "\""));
    }
  }
  if (!header) return absl::InvalidArgumentError("aspect model: empty file");
  if (!have_category) return absl::InvalidArgumentError("aspect model: no category line");
  if (tagger.tag_weights_.empty()) return absl::InvalidArgumentError("aspect model: no tagger weights");
  ASSIGN_OR_RETURN(auto featurizer, AspectFeaturizer::Create(tagger.category_));
  tagger.featurizer_ = std::move(featurizer);
  tagger.FinishLoad();
  return tagger;
}

std::vector<ExtractedTerm> AspectTagger::Extract(absl::string_view text) const {
  std::vector<TagToken> tokens;
  TokenizeForTagging(text, &tokens);
  std::vector<std::vector<uint64_t>> hashes(tokens.size());
  std::vector<HashedFeatures> sinks;
  std::vector<FeatureSink*> sink_ptrs;
  sinks.reserve(tokens.size());
  for (auto& per_token : hashes) {
    per_token.reserve(40);
    sink_ptrs.push_back(&sinks.emplace_back(&per_token));
  }
  featurizer_->TokenFeatures(tokens, dictionary_, sink_ptrs);
  std::vector<std::array<float, 3>> emissions(tokens.size(), {0, 0, 0});
  for (size_t i = 0; i < tokens.size(); ++i) {
    for (uint64_t f : hashes[i]) {
      auto it = tag_index_.find(f);
      if (it == tag_index_.end()) continue;
      for (int y = 0; y < 3; ++y) emissions[i][y] += it->second[y];
    }
  }
  std::vector<int> tags;
  Viterbi(emissions, transitions_, &tags);
  std::vector<ExtractedTerm> out;
  const std::vector<uint32_t> chars = CharToByteOffsets(text);
  for (size_t i = 0; i < tags.size();) {
    if (tags[i] != kB) {
      ++i;
      continue;
    }
    size_t e = i + 1;
    while (e < tags.size() && tags[e] == kI) ++e;
    out.push_back(ClassifySpan(text, tokens, chars, tokens[i].begin, tokens[e - 1].end));
    i = e;
  }
  return out;
}

ExtractedTerm AspectTagger::Classify(absl::string_view text, uint32_t begin, uint32_t end) const {
  std::vector<TagToken> tokens;
  TokenizeForTagging(text, &tokens);
  return ClassifySpan(text, tokens, CharToByteOffsets(text), begin, end);
}

ExtractedTerm AspectTagger::ClassifySpan(absl::string_view text, const std::vector<TagToken>& tokens,
                                         const std::vector<uint32_t>& chars, uint32_t begin,
                                         uint32_t end) const {
  ExtractedTerm t;
  t.begin = begin;
  t.end = std::min<uint32_t>(end, static_cast<uint32_t>(text.size()));
  t.term = std::string(text.substr(t.begin, t.end - t.begin));
  t.from = static_cast<uint32_t>(std::upper_bound(chars.begin(), chars.end(), t.begin) - chars.begin() - 1);
  t.to = static_cast<uint32_t>(std::lower_bound(chars.begin(), chars.end(), t.end) - chars.begin());
  uint32_t first = 0, last_end = 0;
  bool exact;
  std::array<double, 3> p{0, 0, 0};
  if (CoveringTokens(tokens, t.begin, t.end, &first, &last_end, &exact)) {
    std::vector<uint64_t> fs;
    HashedFeatures sink(&fs);
    featurizer_->PolarityFeatures(tokens, first, last_end, sink);
    for (uint64_t f : fs) {
      auto it = polarity_index_.find(f);
      if (it == polarity_index_.end()) continue;
      for (int y = 0; y < 3; ++y) p[y] += it->second[y];
    }
  }
  Softmax(&p);
  const int best = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
  t.polarity = kPolarities[best];
  t.polarity_score = std::clamp(p[0] - p[1], -1.0, 1.0);
  return t;
}

absl::StatusOr<std::shared_ptr<const AspectTagger>> LoadAspectTaggerFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read aspect model ", path));
  const std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<AspectTagger> tagger = AspectTagger::Load(contents);
  if (!tagger.ok()) {
    return absl::Status(tagger.status().code(), absl::StrCat(path, ": ", tagger.status().message()));
  }
  return std::make_shared<const AspectTagger>(*std::move(tagger));
}

void TermScores::Add(const std::vector<AnnotatedTerm>& gold_terms,
                     const std::vector<ExtractedTerm>& predicted_terms) {
  absl::flat_hash_map<std::pair<uint32_t, uint32_t>, const AnnotatedTerm*> gold_spans;
  for (const AnnotatedTerm& g : gold_terms) gold_spans.emplace(std::make_pair(g.from, g.to), &g);
  absl::flat_hash_set<std::pair<uint32_t, uint32_t>> predicted_spans;
  gold += static_cast<int64_t>(gold_spans.size());
  for (const ExtractedTerm& p : predicted_terms) {
    if (!predicted_spans.insert({p.from, p.to}).second) continue;
    ++predicted;
    auto it = gold_spans.find(std::make_pair(p.from, p.to));
    if (it == gold_spans.end()) continue;
    ++correct;
    ++polarity_total;
    polarity_correct += it->second->polarity == p.polarity;
  }
}

TermDictionaryBaseline::TermDictionaryBaseline(const std::vector<AnnotatedSentence>& training) {
  absl::flat_hash_map<std::string, std::array<int, 3>> votes;
  std::vector<TagToken> tokens;
  for (const AnnotatedSentence& s : training) {
    TokenizeForTagging(s.text, &tokens);
    for (const AnnotatedTerm& t : s.terms) {
      uint32_t first, end;
      bool exact;
      if (!CoveringTokens(tokens, t.byte_from, t.byte_to, &first, &end, &exact)) continue;
      auto& v = votes[PhraseKey(tokens, first, end)];
      for (int c = 0; c < 3; ++c) v[c] += t.polarity == kPolarities[c];
      max_words_ = std::max<size_t>(max_words_, end - first);
    }
  }
  for (const auto& [key, v] : votes) {
    majority_polarity_[key] = kPolarities[std::max_element(v.begin(), v.end()) - v.begin()];
  }
}

std::vector<ExtractedTerm> TermDictionaryBaseline::Extract(absl::string_view text) const {
  std::vector<TagToken> tokens;
  TokenizeForTagging(text, &tokens);
  const std::vector<uint32_t> chars = CharToByteOffsets(text);
  auto char_of = [&](uint32_t byte) {
    return static_cast<uint32_t>(std::lower_bound(chars.begin(), chars.end(), byte) - chars.begin());
  };
  std::vector<ExtractedTerm> out;
  for (size_t b = 0; b < tokens.size();) {
    size_t matched = 0;
    for (size_t e = std::min(tokens.size(), b + max_words_); e > b; --e) {
      auto it = majority_polarity_.find(PhraseKey(tokens, b, e));
      if (it == majority_polarity_.end()) continue;
      ExtractedTerm t;
      t.begin = tokens[b].begin;
      t.end = tokens[e - 1].end;
      t.term = std::string(text.substr(t.begin, t.end - t.begin));
      t.from = char_of(t.begin);
      t.to = char_of(t.end);
      t.polarity = it->second;
      out.push_back(std::move(t));
      matched = e - b;
      break;
    }
    b += matched > 0 ? matched : 1;
  }
  return out;
}

bool InHeldOutFold(absl::string_view text, int fold, int folds) {
  return folds > 0 && static_cast<int>(Fnv1a(text) % static_cast<uint64_t>(folds)) == fold;
}

}  // namespace marketlens::analyzer
