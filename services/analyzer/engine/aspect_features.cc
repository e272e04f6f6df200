#include "services/analyzer/engine/aspect_features.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "services/analyzer/engine/tokenizer.h"

namespace marketlens::analyzer {

absl::string_view EmbeddedData(absl::string_view name);  // embedded_data (generated)

namespace {

// Decodes the code point at text[i] (advancing *len); invalid bytes are one "letter" each.
uint32_t DecodeAt(absl::string_view text, size_t i, int* len) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  int n = c < 0x80 ? 1 : c < 0xC0 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF8 ? 4 : 0;
  if (n == 0 || i + n > text.size()) {
    *len = 1;
    return 0xFFFD;
  }
  uint32_t cp = n == 1 ? c : c & (0xFF >> (n + 1));
  for (int k = 1; k < n; ++k) {
    const unsigned char d = static_cast<unsigned char>(text[i + k]);
    if ((d & 0xC0) != 0x80) {
      *len = 1;
      return 0xFFFD;
    }
    cp = (cp << 6) | (d & 0x3F);
  }
  *len = n;
  return cp;
}

bool IsSpace(uint32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v' || cp == 0xA0 ||
         (cp >= 0x2000 && cp <= 0x200B) || cp == 0x3000 || cp == 0xFEFF;
}
bool IsWordChar(uint32_t cp) {
  if (cp < 0x80) return absl::ascii_isalnum(static_cast<unsigned char>(cp));
  // Typographic punctuation (quotes, dashes, ellipsis) and symbols in the Latin-1 block are not letters.
  if (cp >= 0x2010 && cp <= 0x206F) return false;
  if (cp >= 0xA1 && cp <= 0xBF) return false;
  return !IsSpace(cp);
}

std::string Shape(absl::string_view word) {
  std::string s;
  for (char ch : word) {
    const unsigned char c = static_cast<unsigned char>(ch);
    const char k = absl::ascii_isupper(c)   ? 'X'
                   : absl::ascii_islower(c) ? 'x'
                   : absl::ascii_isdigit(c) ? 'd'
                                            : 'u';
    if (s.empty() || s.back() != k) s.push_back(k);
  }
  return s;
}

// "batteries" -> "battery", "ports" -> "port"; for taxonomy lookups.
std::string Singular(absl::string_view w) {
  if (w.size() > 4 && absl::EndsWith(w, "ies")) return absl::StrCat(w.substr(0, w.size() - 3), "y");
  if (w.size() > 3 && absl::EndsWith(w, "s") && !absl::EndsWith(w, "ss"))
    return std::string(w.substr(0, w.size() - 1));
  return std::string(w);
}

bool IsClauseBreak(const TagToken& t) {
  if (!t.word)
    return t.lower == "," || t.lower == ";" || t.lower == "." || t.lower == "!" || t.lower == "?" ||
           t.lower == ":" || t.lower == "(" || t.lower == ")";
  return t.lower == "but" || t.lower == "although" || t.lower == "though" || t.lower == "however" ||
         t.lower == "except" || t.lower == "whereas" || t.lower == "while";
}

const char* Bucket(double v) {
  if (v <= -2) return "--";
  if (v <= -0.5) return "-";
  if (v < 0.5) return "0";
  if (v < 2) return "+";
  return "++";
}

const char* RateBucket(float r) { return r >= 0.6f ? "hi" : r >= 0.25f ? "mid" : "lo"; }

}  // namespace

void TokenizeForTagging(absl::string_view text, std::vector<TagToken>* out) {
  out->clear();
  size_t i = 0;
  while (i < text.size()) {
    int len = 1;
    const uint32_t cp = DecodeAt(text, i, &len);
    if (IsSpace(cp)) {
      i += len;
      continue;
    }
    TagToken t;
    t.begin = static_cast<uint32_t>(i);
    if (IsWordChar(cp)) {
      size_t j = i;
      while (j < text.size()) {
        int l = 1;
        if (!IsWordChar(DecodeAt(text, j, &l))) break;
        j += l;
      }
      t.word = true;
      t.end = static_cast<uint32_t>(j);
      const absl::string_view raw = text.substr(i, j - i);
      t.lower = absl::AsciiStrToLower(raw);
      t.shape = Shape(raw);
    } else {
      t.end = static_cast<uint32_t>(i + len);
      t.lower = std::string(text.substr(i, len));
      t.shape = t.lower;
    }
    i = t.end;
    out->push_back(std::move(t));
  }
}

std::string PhraseKey(const std::vector<TagToken>& tokens, size_t first, size_t end) {
  std::string key;
  for (size_t k = first; k < end; ++k) absl::StrAppend(&key, k > first ? " " : "", tokens[k].lower);
  return key;
}

TermDictionary TermDictionary::Build(
    const std::vector<const std::vector<TagToken>*>& sentences,
    const std::vector<const std::vector<std::pair<uint32_t, uint32_t>>*>& terms) {
  absl::flat_hash_map<std::string, int> as_term, seen;
  size_t max_words = 0;
  for (size_t s = 0; s < sentences.size(); ++s) {
    for (const auto& [b, e] : *terms[s]) {
      ++as_term[PhraseKey(*sentences[s], b, e)];
      max_words = std::max<size_t>(max_words, e - b);
    }
  }
  for (const auto* tokens : sentences) {
    for (size_t b = 0; b < tokens->size(); ++b) {
      for (size_t e = b + 1; e <= tokens->size() && e - b <= max_words; ++e) {
        const std::string key = PhraseKey(*tokens, b, e);
        if (as_term.contains(key)) ++seen[key];
      }
    }
  }
  TermDictionary d;
  for (const auto& [key, n] : as_term) d.rate[key] = static_cast<float>(n) / std::max(n, seen[key]);
  d.Recompute();
  return d;
}

void TermDictionary::Recompute() {
  max_words = 0;
  first_words.clear();
  for (const auto& [key, r] : rate) {
    max_words = std::max<size_t>(max_words, std::count(key.begin(), key.end(), ' ') + 1);
    first_words.insert(key.substr(0, key.find(' ')));
  }
}

void TermDictionary::Match(const std::vector<TagToken>& tokens, std::vector<char>* tag,
                           std::vector<float>* rates) const {
  tag->assign(tokens.size(), 0);
  rates->assign(tokens.size(), 0);
  std::string key;
  for (size_t b = 0; b < tokens.size();) {
    size_t best_end = 0;
    float best_rate = 0;
    if (first_words.contains(tokens[b].lower)) {
      key.clear();
      for (size_t e = b + 1; e <= std::min(tokens.size(), b + max_words); ++e) {
        absl::StrAppend(&key, e > b + 1 ? " " : "", tokens[e - 1].lower);
        auto it = rate.find(key);
        if (it != rate.end()) {
          best_end = e;
          best_rate = it->second;
        }
      }
    }
    if (best_end == 0) {
      ++b;
      continue;
    }
    for (size_t k = b; k < best_end; ++k) {
      (*tag)[k] = k == b ? 'B' : 'I';
      (*rates)[k] = best_rate;
    }
    b = best_end;
  }
}

absl::StatusOr<std::unique_ptr<AspectFeaturizer>> AspectFeaturizer::Create(absl::string_view category) {
  ASSIGN_OR_RETURN(Lexicon lexicon, Lexicon::Parse(EmbeddedData("vader_lexicon.tsv")));
  ASSIGN_OR_RETURN(Lexicon domain, Lexicon::Parse(EmbeddedData("domain_lexicon.tsv")));
  RETURN_IF_ERROR(lexicon.Merge(domain));
  ASSIGN_OR_RETURN(AspectTaxonomy taxonomy, AspectTaxonomy::Parse(EmbeddedData("aspects.conf")));
  std::vector<std::string> sections = {std::string(category)};
  if (category.empty()) sections = taxonomy.categories();
  absl::flat_hash_set<std::string> terms;
  for (const std::string& section : sections) {
    for (const std::string& aspect : taxonomy.AspectsOf(section)) {
      for (std::string& term : taxonomy.TermsOf(section, aspect)) terms.insert(std::move(term));
    }
  }
  return std::unique_ptr<AspectFeaturizer>(new AspectFeaturizer(std::move(lexicon), std::move(terms)));
}

bool AspectFeaturizer::InTaxonomy(absl::string_view phrase) const {
  if (taxonomy_terms_.contains(phrase)) return true;
  return absl::EndsWith(phrase, "s") && taxonomy_terms_.contains(Singular(phrase));
}

uint64_t FeatureHash(std::initializer_list<absl::string_view> parts) {
  uint64_t h = 1469598103934665603ull;
  for (absl::string_view part : parts) {
    for (char c : part) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
  }
  return h;
}

void StringFeatures::Add(std::initializer_list<absl::string_view> parts) {
  std::string s;
  for (absl::string_view part : parts) s.append(part.data(), part.size());
  out_->push_back(std::move(s));
}

double AspectFeaturizer::Valence(const std::vector<TagToken>& tokens, size_t i) const {
  double v = lexicon_.Valence(tokens[i].lower);
  if (v == 0) return 0;
  for (size_t k = i; k > 0 && k + 3 > i; --k) {
    if (IsNegator(tokens[k - 1].lower)) return -0.74 * v;
  }
  return v;
}

void AspectFeaturizer::TokenFeatures(const std::vector<TagToken>& tokens, const TermDictionary& dictionary,
                                     const std::vector<FeatureSink*>& sinks) const {
  static constexpr absl::string_view kSign[3] = {"-1", "0", "1"};
  static constexpr absl::string_view kPrefix[4] = {"", "p1=", "p2=", "p3="};
  static constexpr absl::string_view kSuffix[4] = {"", "x1=", "x2=", "x3="};
  const size_t n = tokens.size();
  thread_local std::vector<char> dict_tag;
  thread_local std::vector<float> dict_rate;
  thread_local std::vector<int> lex;
  thread_local std::vector<char> tax, tax2;
  dictionary.Match(tokens, &dict_tag, &dict_rate);
  lex.assign(n, 0);
  tax.assign(n, 0);
  tax2.assign(n, 0);
  bool sentence_opinion = false;
  std::string bigram;
  for (size_t i = 0; i < n; ++i) {
    const double v = lexicon_.Valence(tokens[i].lower);
    lex[i] = v >= 0.5 ? 1 : v <= -0.5 ? -1 : 0;
    sentence_opinion |= lex[i] != 0;
    tax[i] = tokens[i].word && InTaxonomy(tokens[i].lower);
    if (i + 1 < n && tokens[i].word && tokens[i + 1].word) {
      bigram.clear();
      absl::StrAppend(&bigram, tokens[i].lower, " ", tokens[i + 1].lower);
      if (InTaxonomy(bigram)) tax2[i] = tax2[i + 1] = 1;
    }
  }
  auto word_at = [&](long k) -> absl::string_view {
    if (k < 0) return "<s>";
    if (k >= static_cast<long>(n)) return "</s>";
    return tokens[k].lower;
  };
  auto shape_at = [&](long k) -> absl::string_view {
    if (k < 0 || k >= static_cast<long>(n)) return "#";
    return tokens[k].shape;
  };
  for (size_t i = 0; i < n; ++i) {
    FeatureSink& f = *sinks[i];
    const TagToken& t = tokens[i];
    const absl::string_view w = t.lower;
    const long li = static_cast<long>(i);
    f.Add({"b"});
    f.Add({"w=", w});
    f.Add({"s=", t.shape});
    if (t.word) {
      for (size_t k = 1; k <= 3 && k < w.size(); ++k) {
        f.Add({kPrefix[k], w.substr(0, k)});
        f.Add({kSuffix[k], w.substr(w.size() - k)});
      }
      if (i > 0 && t.shape[0] == 'X') f.Add({"cap-mid"});
    }
    f.Add({"w-1=", word_at(li - 1)});
    f.Add({"w+1=", word_at(li + 1)});
    f.Add({"w-2=", word_at(li - 2)});
    f.Add({"w+2=", word_at(li + 2)});
    f.Add({"w-1w=", word_at(li - 1), "|", w});
    f.Add({"ww+1=", w, "|", word_at(li + 1)});
    f.Add({"w-2w-1=", word_at(li - 2), "|", word_at(li - 1)});
    f.Add({"w+1w+2=", word_at(li + 1), "|", word_at(li + 2)});
    f.Add({"s-1=", shape_at(li - 1)});
    f.Add({"s+1=", shape_at(li + 1)});
    f.Add({"lex=", kSign[lex[i] + 1]});
    if (i > 0) f.Add({"lex-1=", kSign[lex[i - 1] + 1]});
    if (i + 1 < n) f.Add({"lex+1=", kSign[lex[i + 1] + 1]});
    if (i > 1) f.Add({"lex-2=", kSign[lex[i - 2] + 1]});
    if (i + 2 < n) f.Add({"lex+2=", kSign[lex[i + 2] + 1]});
    f.Add({sentence_opinion ? "opinion" : "no-opinion"});
    if (tax[i]) f.Add({"tax"});
    if (tax2[i]) f.Add({"tax2"});
    if (i > 0 && tax[i - 1]) f.Add({"tax-1"});
    if (i + 1 < n && tax[i + 1]) f.Add({"tax+1"});
    if (dict_tag[i] != 0) f.Add({dict_tag[i] == 'B' ? "dB=" : "dI=", RateBucket(dict_rate[i])});
    if (i + 1 < n && dict_tag[i + 1] == 'I') f.Add({"d-next-I"});
  }
}

void AspectFeaturizer::PolarityFeatures(const std::vector<TagToken>& tokens, size_t first, size_t end,
                                        FeatureSink& out) const {
  static constexpr absl::string_view kLeft[3] = {"", "L1=", "L2="};
  static constexpr absl::string_view kRight[3] = {"", "R1=", "R2="};
  const size_t n = tokens.size();
  out.Add({"bias"});
  out.Add({"t=", PhraseKey(tokens, first, end)});
  for (size_t k = first; k < end; ++k) out.Add({"tw=", tokens[k].lower});
  for (size_t d = 1; d <= 6; ++d) {
    if (first >= d) {
      out.Add({"L=", tokens[first - d].lower});
      if (d <= 2) out.Add({kLeft[d], tokens[first - d].lower});
    }
    if (end + d - 1 < n) {
      out.Add({"R=", tokens[end + d - 1].lower});
      if (d <= 2) out.Add({kRight[d], tokens[end + d - 1].lower});
    }
  }
  // The term's clause: to the nearest clause break either side.
  size_t cb = first, ce = end;
  while (cb > 0 && !IsClauseBreak(tokens[cb - 1])) --cb;
  while (ce < n && !IsClauseBreak(tokens[ce])) ++ce;
  double clause = 0, sentence = 0, left = 0, right = 0;
  for (size_t k = 0; k < n; ++k) {
    const double v = Valence(tokens, k);
    if (v == 0) continue;
    sentence += v;
    if (k >= cb && k < ce) out.Add({"cw=", v > 0 ? "+" : "-", tokens[k].lower});
    if (k >= cb && k < ce) clause += v;
    (k < first ? left : right) += v;
  }
  out.Add({"cl=", Bucket(clause)});
  out.Add({"se=", Bucket(sentence)});
  out.Add({"le=", Bucket(left)});
  out.Add({"ri=", Bucket(right)});
  out.Add({"cl-se=", Bucket(clause), Bucket(sentence)});
  bool contrast_before = false, contrast_after = false;
  for (size_t k = 0; k < n; ++k) {
    if (tokens[k].lower == "but" || tokens[k].lower == "however" || tokens[k].lower == "although") {
      (k < first ? contrast_before : contrast_after) = true;
    }
    if (tokens[k].lower == "!") out.Add({"excl"});
    if (tokens[k].lower == "?") out.Add({"quest"});
  }
  if (contrast_before) out.Add({"contrast-before"});
  if (contrast_after) out.Add({"contrast-after"});
}

}  // namespace marketlens::analyzer
