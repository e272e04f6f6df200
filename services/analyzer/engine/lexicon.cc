#include "services/analyzer/engine/lexicon.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/macros.h"

namespace marketlens::analyzer {
namespace {

bool IsAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }

// An emoticon: no space, starts or ends with a symbol (":)", "(:", "<3", ":-D"); words with an apostrophe
// ("can't") start and end with letters.
bool LooksLikeEmoticon(absl::string_view token) {
  if (token.size() < 2 || token.find(' ') != absl::string_view::npos) return false;
  return !IsAlnum(token.front()) || !IsAlnum(token.back());
}

}  // namespace

absl::Status Lexicon::Set(absl::string_view token, double valence) {
  if (token.empty()) return absl::InvalidArgumentError("empty token");
  if (!(valence >= -4.0 && valence <= 4.0)) {
    return absl::InvalidArgumentError(absl::StrCat("valence of '", token, "' must be in -4..4"));
  }
  if (LooksLikeEmoticon(token)) {
    emoticons_[token] = valence;
    emoticon_set_.insert(std::string(token));
  } else if (token.find(' ') != absl::string_view::npos) {
    const std::string key = absl::AsciiStrToLower(token);
    phrases_[key] = valence;
    phrase_firsts_.insert(key.substr(0, key.find(' ')));
  } else {
    words_[absl::AsciiStrToLower(token)] = valence;
  }
  return absl::OkStatus();
}

absl::StatusOr<Lexicon> Lexicon::Parse(absl::string_view tsv) {
  Lexicon lexicon;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(tsv, '\n')) {
    ++line_no;
    line = absl::StripSuffix(line, "\r");
    if (line.empty() || absl::StartsWith(line, "# ")) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits('\t', 2));
    double valence = 0;
    if (parts.size() < 2 || parts[0].empty() || !absl::SimpleAtod(parts[1], &valence)) {
      return absl::InvalidArgumentError(
          absl::StrCat("lexicon line ", line_no, ": expected token<TAB>valence"));
    }
    const absl::string_view token = parts[0];
    const bool emoticon = LooksLikeEmoticon(token);
    const std::string key = emoticon ? std::string(token) : absl::AsciiStrToLower(token);
    const bool known = emoticon ? lexicon.emoticons_.contains(key)
                                : (lexicon.words_.contains(key) || lexicon.phrases_.contains(key));
    if (known) continue;  // first entry wins
    absl::Status s = lexicon.Set(token, valence);
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("lexicon line ", line_no, ": ", s.message()));
  }
  return lexicon;
}

absl::Status Lexicon::Merge(const Lexicon& other) {
  for (const auto& [k, v] : other.words_) words_[k] = v;
  for (const auto& [k, v] : other.phrases_) {
    RETURN_IF_ERROR(Set(k, v));
  }
  for (const auto& [k, v] : other.emoticons_) {
    emoticons_[k] = v;
    emoticon_set_.insert(k);
  }
  return absl::OkStatus();
}

double Lexicon::PhraseValence(absl::string_view first, absl::string_view second) const {
  if (!phrase_firsts_.contains(first)) return 0;
  std::string key;
  key.reserve(first.size() + second.size() + 1);
  key.append(first.data(), first.size());
  key.push_back(' ');
  key.append(second.data(), second.size());
  auto it = phrases_.find(key);
  return it == phrases_.end() ? 0.0 : it->second;
}

}  // namespace marketlens::analyzer
