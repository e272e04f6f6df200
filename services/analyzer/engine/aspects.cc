#include "services/analyzer/engine/aspects.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace marketlens::analyzer {
namespace {

std::vector<std::string> Words(absl::string_view term) {
  return absl::StrSplit(absl::AsciiStrToLower(term), ' ', absl::SkipWhitespace());
}

// "batteries" -> "battery", "boxes" -> "box", "straps" -> "strap"; other words unchanged.
absl::string_view Singular(absl::string_view w, std::string* buf) {
  if (w.size() > 4 && absl::EndsWith(w, "ies")) {
    *buf = absl::StrCat(w.substr(0, w.size() - 3), "y");
    return *buf;
  }
  if (w.size() > 4 && (absl::EndsWith(w, "xes") || absl::EndsWith(w, "ches") || absl::EndsWith(w, "shes"))) {
    return w.substr(0, w.size() - 2);
  }
  if (w.size() > 3 && absl::EndsWith(w, "s") && !absl::EndsWith(w, "ss")) return w.substr(0, w.size() - 1);
  return w;
}

bool WordMatches(absl::string_view token, const std::string& word, bool last) {
  if (token == word) return true;
  if (!last) return false;
  std::string buf;
  return Singular(token, &buf) == word;
}

const absl::flat_hash_set<std::string>& DiscoveryStopwords() {
  static const auto* s = new absl::flat_hash_set<std::string>{
      "product",  "item",    "thing",       "one",     "it",      "this",  "that",    "order",  "purchase",
      "quality",  "price",   "money",       "seller",  "company", "brand", "amazon",  "way",    "time",
      "day",      "week",    "month",       "year",    "first",   "last",  "other",   "same",   "whole",
      "new",      "old",     "only",        "best",    "worst",   "rest",  "kids",    "son",    "daughter",
      "wife",     "husband", "dog",         "cat",     "mom",     "dad",   "reviews", "review", "picture",
      "pictures", "photo",   "description", "listing", "thing",   "stuff", "lot",     "bit",    "set",
      "pair",     "box",     "package",     "size",    "color",   "very",  "most",    "more",   "all",
      "any",      "some",    "much",        "many",    "few",     "next",  "second",  "third",  "name",
      "own"};
  return *s;
}

bool IsFrameStart(absl::string_view w) {
  return w == "the" || w == "my" || w == "its" || w == "this" || w == "their" || w == "these" || w == "our";
}
bool IsFrameVerb(absl::string_view w) {
  static const auto* s = new absl::flat_hash_set<std::string>{
      "is",    "was",    "are",     "were",    "feels", "felt",  "looks",   "looked",  "seems",
      "broke", "works",  "worked",  "stopped", "came",  "died",  "snapped", "cracked", "fell",
      "keeps", "kept",   "started", "holds",   "held",  "lasts", "lasted",  "has",     "had",
      "isn't", "wasn't", "doesn't", "didn't",  "won't", "gets",  "got"};
  return s->contains(w);
}
bool IsPlainWord(absl::string_view w) {
  if (w.size() < 3) return false;
  for (char c : w) {
    if (!(c >= 'a' && c <= 'z')) return false;
  }
  return true;
}

}  // namespace

void AspectTaxonomy::AddTerm(const std::string& section, const std::string& aspect, absl::string_view term,
                             bool discovered) {
  Term t;
  t.words = Words(term);
  if (t.words.empty()) return;
  t.aspect = aspect;
  t.discovered = discovered;
  auto add = [&](Index& index) {
    auto& list = index[t.words[0]];
    for (const Term& existing : list) {
      if (existing.words == t.words) return;  // first definition wins
    }
    list.push_back(t);
    std::stable_sort(list.begin(), list.end(),
                     [](const Term& a, const Term& b) { return a.words.size() > b.words.size(); });
  };
  add(sections_[section]);
  add(all_);
}

absl::StatusOr<AspectTaxonomy> AspectTaxonomy::Parse(absl::string_view conf) {
  AspectTaxonomy tax;
  std::string section;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(conf, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return absl::InvalidArgumentError(absl::StrCat("aspects line ", line_no, ": bad section header"));
      }
      const absl::string_view name = absl::StripAsciiWhitespace(line.substr(1, line.size() - 2));
      section = absl::AsciiStrToLower(name);
      tax.display_names_[section] = std::string(name);
      tax.sections_[section];
      continue;
    }
    const size_t eq = line.find('=');
    if (section.empty() || eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("aspects line ", line_no, ": expected `aspect = term, ...` inside a [section]"));
    }
    const std::string aspect(absl::StripAsciiWhitespace(line.substr(0, eq)));
    if (aspect.empty())
      return absl::InvalidArgumentError(absl::StrCat("aspects line ", line_no, ": no aspect"));
    tax.aspect_names_[section].push_back(aspect);
    for (absl::string_view term : absl::StrSplit(line.substr(eq + 1), ',', absl::SkipWhitespace())) {
      tax.AddTerm(section, aspect, absl::StripAsciiWhitespace(term), false);
    }
    tax.AddTerm(section, aspect,
                aspect == "ease_of_use" ? "ease of use" : absl::StrReplaceAll(aspect, {{"_", " "}}), false);
  }
  return tax;
}

void AspectTaxonomy::AddDiscovered(absl::string_view category, absl::string_view term) {
  const std::string section = absl::AsciiStrToLower(category);
  if (Knows(category, term)) return;
  AddTerm(section, absl::AsciiStrToLower(term), term, true);
}

const AspectTaxonomy::Index* AspectTaxonomy::SectionIndex(absl::string_view category) const {
  if (category.empty()) return nullptr;
  auto it = sections_.find(absl::AsciiStrToLower(category));
  return it == sections_.end() ? nullptr : &it->second;
}

bool AspectTaxonomy::Knows(absl::string_view category, absl::string_view term) const {
  const std::vector<std::string> words = Words(term);
  if (words.empty()) return true;
  for (const Index* index : {SectionIndex(category), SectionIndex("*")}) {
    if (index == nullptr) continue;
    auto it = index->find(words[0]);
    if (it == index->end()) continue;
    for (const Term& t : it->second) {
      if (t.words == words) return true;
    }
  }
  return false;
}

std::vector<std::string> AspectTaxonomy::AspectsOf(absl::string_view category) const {
  std::vector<std::string> out;
  for (const std::string& key : {absl::AsciiStrToLower(category), std::string("*")}) {
    auto it = aspect_names_.find(key);
    if (it != aspect_names_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  }
  return out;
}

std::vector<std::string> AspectTaxonomy::TermsOf(absl::string_view category, absl::string_view aspect) const {
  std::vector<const Index*> indexes;
  if (const Index* section = SectionIndex(category); section != nullptr) {
    indexes = {section, SectionIndex("*")};
  } else {
    indexes = {&all_};
  }
  std::vector<std::string> out;
  for (const Index* index : indexes) {
    if (index == nullptr) continue;
    for (const auto& [first, terms] : *index) {
      for (const Term& t : terms) {
        if (t.aspect != aspect) continue;
        std::string joined = absl::StrJoin(t.words, " ");
        if (std::find(out.begin(), out.end(), joined) == out.end()) out.push_back(std::move(joined));
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> AspectTaxonomy::categories() const {
  std::vector<std::string> out;
  for (const auto& [key, name] : display_names_) {
    if (key != "*") out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void AspectTaxonomy::Find(const TokenizedText& text, absl::string_view category,
                          std::vector<AspectHit>* out) const {
  const Index* specific = SectionIndex(category);
  const Index* universal = SectionIndex("*");
  std::string buf;
  for (uint32_t si = 0; si < text.sentences.size(); ++si) {
    const Sentence& s = text.sentences[si];
    for (uint32_t i = s.first_token; i < s.end_token;) {
      const Token& tok = text.tokens[i];
      if (tok.kind != TokenKind::kWord) {
        ++i;
        continue;
      }
      const Term* best = nullptr;
      auto consider = [&](const Index* index, absl::string_view key) {
        if (index == nullptr) return;
        auto it = index->find(key);
        if (it == index->end()) return;
        for (const Term& t : it->second) {
          if (best != nullptr && best->words.size() >= t.words.size()) break;
          if (i + t.words.size() > s.end_token) continue;
          bool ok = true;
          for (size_t k = 0; k < t.words.size() && ok; ++k) {
            ok = WordMatches(text.tokens[i + k].lower, t.words[k], k + 1 == t.words.size());
          }
          if (ok) {
            best = &t;
            break;
          }
        }
      };
      const absl::string_view singular = Singular(tok.lower, &buf);
      if (specific != nullptr) {
        consider(specific, tok.lower);
        if (singular != tok.lower) consider(specific, singular);
        consider(universal, tok.lower);
        if (singular != tok.lower) consider(universal, singular);
      } else {
        consider(&all_, tok.lower);
        if (singular != tok.lower) consider(&all_, singular);
      }
      if (best == nullptr) {
        ++i;
        continue;
      }
      AspectHit hit;
      hit.aspect = best->aspect;
      hit.first_token = i;
      hit.end_token = i + static_cast<uint32_t>(best->words.size());
      hit.sentence = si;
      hit.discovered = best->discovered;
      out->push_back(std::move(hit));
      i += static_cast<uint32_t>(best->words.size());
    }
  }
}

void AspectDiscoverer::Add(absl::string_view category, const TokenizedText& text) {
  absl::flat_hash_set<std::string> seen;
  for (const Sentence& s : text.sentences) {
    for (uint32_t i = s.first_token; i + 2 < s.end_token; ++i) {
      if (!IsFrameStart(text.tokens[i].lower)) continue;
      const Token& w1 = text.tokens[i + 1];
      if (w1.kind != TokenKind::kWord || !IsPlainWord(w1.lower) || DiscoveryStopwords().contains(w1.lower))
        continue;
      const Token& w2 = text.tokens[i + 2];
      if (IsFrameVerb(w2.lower)) {
        seen.insert(std::string(w1.lower));
      } else if (w2.kind == TokenKind::kWord && IsPlainWord(w2.lower) && i + 3 < s.end_token &&
                 IsFrameVerb(text.tokens[i + 3].lower) && !DiscoveryStopwords().contains(w2.lower)) {
        seen.insert(absl::StrCat(w1.lower, " ", w2.lower));
      }
    }
  }
  if (seen.empty()) return;
  auto& counts = counts_[absl::AsciiStrToLower(category)];
  for (const std::string& term : seen) {
    if (is_excluded_ && is_excluded_(category, term)) continue;
    ++counts[term];
  }
}

std::vector<DiscoveredTerm> AspectDiscoverer::Result(int min_documents, int max_per_category) const {
  std::vector<DiscoveredTerm> out;
  for (const auto& [category, counts] : counts_) {
    std::vector<DiscoveredTerm> terms;
    for (const auto& [term, n] : counts) {
      if (n >= min_documents) terms.push_back({category, term, n});
    }
    std::sort(terms.begin(), terms.end(), [](const DiscoveredTerm& a, const DiscoveredTerm& b) {
      return a.documents != b.documents ? a.documents > b.documents : a.term < b.term;
    });
    if (static_cast<int>(terms.size()) > max_per_category) terms.resize(max_per_category);
    out.insert(out.end(), terms.begin(), terms.end());
  }
  std::sort(out.begin(), out.end(), [](const DiscoveredTerm& a, const DiscoveredTerm& b) {
    return a.category != b.category
               ? a.category < b.category
               : (a.documents != b.documents ? a.documents > b.documents : a.term < b.term);
  });
  return out;
}

}  // namespace marketlens::analyzer
