#include "services/analyzer/engine/aspect_features.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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
  for (const auto& [key, r] : rate) {
    max_words = std::max<size_t>(max_words, std::count(key.begin(), key.end(), ' ') + 1);
  }
}

void TermDictionary::Match(const std::vector<TagToken>& tokens, std::vector<char>* tag,
                           std::vector<float>* rates) const {
  tag->assign(tokens.size(), 0);
  rates->assign(tokens.size(), 0);
  for (size_t b = 0; b < tokens.size();) {
    size_t best_end = 0;
    float best_rate = 0;
    for (size_t e = std::min(tokens.size(), b + max_words); e > b; --e) {
      auto it = rate.find(PhraseKey(tokens, b, e));
      if (it != rate.end()) {
        best_end = e;
        best_rate = it->second;
        break;
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
  absl::StatusOr<Lexicon> lexicon = Lexicon::Parse(EmbeddedData("vader_lexicon.tsv"));
  if (!lexicon.ok()) return lexicon.status();
  absl::StatusOr<Lexicon> domain = Lexicon::Parse(EmbeddedData("domain_lexicon.tsv"));
  if (!domain.ok()) return domain.status();
  if (absl::Status st = lexicon->Merge(*domain); !st.ok()) return st;
  absl::StatusOr<AspectTaxonomy> taxonomy = AspectTaxonomy::Parse(EmbeddedData("aspects.conf"));
  if (!taxonomy.ok()) return taxonomy.status();
  return std::unique_ptr<AspectFeaturizer>(
      new AspectFeaturizer(*std::move(lexicon), *std::move(taxonomy), std::string(category)));
}

bool AspectFeaturizer::InTaxonomy(absl::string_view phrase) const {
  return taxonomy_.Knows(category_, phrase) || taxonomy_.Knows(category_, Singular(phrase));
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
                                     std::vector<std::vector<std::string>>* out) const {
  const size_t n = tokens.size();
  out->assign(n, {});
  std::vector<char> dict_tag;
  std::vector<float> dict_rate;
  dictionary.Match(tokens, &dict_tag, &dict_rate);
  std::vector<int> lex(n, 0);
  std::vector<bool> tax(n, false), tax2(n, false);
  bool sentence_opinion = false;
  for (size_t i = 0; i < n; ++i) {
    const double v = lexicon_.Valence(tokens[i].lower);
    lex[i] = v >= 0.5 ? 1 : v <= -0.5 ? -1 : 0;
    sentence_opinion |= lex[i] != 0;
    tax[i] = tokens[i].word && InTaxonomy(tokens[i].lower);
    if (i + 1 < n && tokens[i].word && tokens[i + 1].word &&
        InTaxonomy(absl::StrCat(tokens[i].lower, " ", tokens[i + 1].lower))) {
      tax2[i] = tax2[i + 1] = true;
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
    std::vector<std::string>& f = (*out)[i];
    const TagToken& t = tokens[i];
    const long li = static_cast<long>(i);
    f.push_back("b");
    f.push_back(absl::StrCat("w=", t.lower));
    f.push_back(absl::StrCat("s=", t.shape));
    if (t.word) {
      for (size_t k = 1; k <= 3 && k < t.lower.size(); ++k) {
        f.push_back(absl::StrCat("p", k, "=", t.lower.substr(0, k)));
        f.push_back(absl::StrCat("x", k, "=", t.lower.substr(t.lower.size() - k)));
      }
      if (i > 0 && t.shape[0] == 'X') f.push_back("cap-mid");
    }
    f.push_back(absl::StrCat("w-1=", word_at(li - 1)));
    f.push_back(absl::StrCat("w+1=", word_at(li + 1)));
    f.push_back(absl::StrCat("w-2=", word_at(li - 2)));
    f.push_back(absl::StrCat("w+2=", word_at(li + 2)));
    f.push_back(absl::StrCat("w-1w=", word_at(li - 1), "|", t.lower));
    f.push_back(absl::StrCat("ww+1=", t.lower, "|", word_at(li + 1)));
    f.push_back(absl::StrCat("w-2w-1=", word_at(li - 2), "|", word_at(li - 1)));
    f.push_back(absl::StrCat("w+1w+2=", word_at(li + 1), "|", word_at(li + 2)));
    f.push_back(absl::StrCat("s-1=", shape_at(li - 1)));
    f.push_back(absl::StrCat("s+1=", shape_at(li + 1)));
    f.push_back(absl::StrCat("lex=", lex[i]));
    if (i > 0) f.push_back(absl::StrCat("lex-1=", lex[i - 1]));
    if (i + 1 < n) f.push_back(absl::StrCat("lex+1=", lex[i + 1]));
    if (i > 1) f.push_back(absl::StrCat("lex-2=", lex[i - 2]));
    if (i + 2 < n) f.push_back(absl::StrCat("lex+2=", lex[i + 2]));
    f.push_back(sentence_opinion ? "opinion" : "no-opinion");
    if (tax[i]) f.push_back("tax");
    if (tax2[i]) f.push_back("tax2");
    if (i > 0 && tax[i - 1]) f.push_back("tax-1");
    if (i + 1 < n && tax[i + 1]) f.push_back("tax+1");
    if (dict_tag[i] != 0) {
      f.push_back(absl::StrCat("d", std::string(1, dict_tag[i]), "=", RateBucket(dict_rate[i])));
    }
    if (i + 1 < n && dict_tag[i + 1] == 'I') f.push_back("d-next-I");
  }
}

void AspectFeaturizer::PolarityFeatures(const std::vector<TagToken>& tokens, size_t first, size_t end,
                                        std::vector<std::string>* out) const {
  out->clear();
  const size_t n = tokens.size();
  out->push_back("bias");
  out->push_back(absl::StrCat("t=", PhraseKey(tokens, first, end)));
  for (size_t k = first; k < end; ++k) out->push_back(absl::StrCat("tw=", tokens[k].lower));
  for (size_t d = 1; d <= 6; ++d) {
    if (first >= d) {
      out->push_back(absl::StrCat("L=", tokens[first - d].lower));
      if (d <= 2) out->push_back(absl::StrCat("L", d, "=", tokens[first - d].lower));
    }
    if (end + d - 1 < n) {
      out->push_back(absl::StrCat("R=", tokens[end + d - 1].lower));
      if (d <= 2) out->push_back(absl::StrCat("R", d, "=", tokens[end + d - 1].lower));
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
    if (k >= cb && k < ce) {
      clause += v;
      out->push_back(absl::StrCat("cw=", v > 0 ? "+" : "-", tokens[k].lower));
    }
    (k < first ? left : right) += v;
  }
  out->push_back(absl::StrCat("cl=", Bucket(clause)));
  out->push_back(absl::StrCat("se=", Bucket(sentence)));
  out->push_back(absl::StrCat("le=", Bucket(left)));
  out->push_back(absl::StrCat("ri=", Bucket(right)));
  out->push_back(absl::StrCat("cl-se=", Bucket(clause), Bucket(sentence)));
  bool contrast_before = false, contrast_after = false;
  for (size_t k = 0; k < n; ++k) {
    if (tokens[k].lower == "but" || tokens[k].lower == "however" || tokens[k].lower == "although") {
      (k < first ? contrast_before : contrast_after) = true;
    }
    if (tokens[k].lower == "!") out->push_back("excl");
    if (tokens[k].lower == "?") out->push_back("quest");
  }
  if (contrast_before) out->push_back("contrast-before");
  if (contrast_after) out->push_back("contrast-after");
}

}  // namespace marketlens::analyzer
