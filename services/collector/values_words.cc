// The hashtag, sentiment-word and date-order pieces of values.h (split from values.cc to keep files short).
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/strings/utf8.h"
#include "services/collector/values.h"

namespace marketlens::collector {

// ---- hashtags -----------------------------------------------------------------------------------------

std::string NormalizeHashtag(absl::string_view raw) {
  absl::string_view v = TrimValue(raw);
  while (!v.empty() && (v.front() == '#' || v.front() == '\xEF')) {
    if (v.front() == '#') {
      v.remove_prefix(1);
    } else if (absl::StartsWith(v, "\xEF\xBC\x83")) {  // U+FF03 FULLWIDTH NUMBER SIGN
      v.remove_prefix(3);
    } else {
      break;
    }
  }
  std::string tag;
  for (size_t i = 0; i < v.size();) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (c < 0x80) {
      if (!absl::ascii_isalnum(c) && c != '_') break;  // a tag ends at punctuation or space
      tag.push_back(absl::ascii_tolower(c));
      ++i;
      continue;
    }
    const size_t n = strings::Utf8SequenceLength(v, i);
    if (n == 0) break;
    // Letters of other scripts are kept as written; a no-break space or punctuation ends the tag.
    if (n == 2 && c == 0xC2) break;  // U+0080..U+00BF: controls, NBSP, punctuation
    if (n == 3 && c == 0xE2 && static_cast<unsigned char>(v[i + 1]) <= 0x81) break;  // U+2000..U+207F
    if (tag.size() + n > kMaxHashtagBytes) break;
    tag.append(v.data() + i, n);
    i += n;
  }
  if (tag.size() > kMaxHashtagBytes) tag.resize(kMaxHashtagBytes);
  return tag;
}

std::vector<std::string> SplitHashtags(absl::string_view text) {
  std::vector<std::string> tags;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == ',' || c == ';' || c == '|' || c == '#' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != ',' && text[j] != ';' && text[j] != '|' &&
           text[j] != '#' && text[j] != '\t' && text[j] != '\n' && text[j] != '\r') {
      ++j;
    }
    std::string tag = NormalizeHashtag(text.substr(i, j - i));
    if (!tag.empty() && std::find(tags.begin(), tags.end(), tag) == tags.end())
      tags.push_back(std::move(tag));
    i = j;
  }
  return tags;
}

std::vector<std::string> HashtagsInText(absl::string_view text) {
  std::vector<std::string> tags;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '#') continue;
    std::string tag = NormalizeHashtag(text.substr(i + 1));
    if (!tag.empty() && std::find(tags.begin(), tags.end(), tag) == tags.end())
      tags.push_back(std::move(tag));
  }
  return tags;
}

void FormatTextArrayTo(const std::vector<std::string>& items, std::string* out) {
  out->assign("{");
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->push_back('"');
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out->push_back('\\');
      out->push_back(c);
    }
    out->push_back('"');
  }
  out->push_back('}');
}

std::optional<double> SentimentFromWord(absl::string_view value) {
  static const std::vector<std::pair<const char*, double>> kWords = {{"verypositive", 1.0},
                                                                     {"positive", 1.0},
                                                                     {"pos", 1.0},
                                                                     {"good", 1.0},
                                                                     {"happy", 1.0},
                                                                     {"satisfied", 1.0},
                                                                     {"neutral", 0.0},
                                                                     {"neu", 0.0},
                                                                     {"mixed", 0.0},
                                                                     {"negative", -1.0},
                                                                     {"neg", -1.0},
                                                                     {"bad", -1.0},
                                                                     {"unhappy", -1.0},
                                                                     {"angry", -1.0},
                                                                     {"dissatisfied", -1.0},
                                                                     {"verynegative", -1.0},
                                                                     {"somewhatpositive", 0.5},
                                                                     {"somewhatnegative", -0.5}};
  const std::string key = NormalizeHeader(value);
  for (const auto& [word, score] : kWords) {
    if (key == word) return score;
  }
  return std::nullopt;
}

absl::StatusOr<DayMonthOrder> ParseDayMonthOrder(absl::string_view text) {
  const std::string t = absl::AsciiStrToLower(TrimValue(text));
  if (t.empty() || t == "auto") return DayMonthOrder::kUnknown;
  if (t == "dmy" || t == "day-first" || t == "dayfirst") return DayMonthOrder::kDayFirst;
  if (t == "mdy" || t == "month-first" || t == "monthfirst") return DayMonthOrder::kMonthFirst;
  return absl::InvalidArgumentError(
      absl::StrCat("date order '", text, "' is not auto, dmy (day first) or mdy (month first)"));
}

}  // namespace marketlens::collector
