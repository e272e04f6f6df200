#include "services/analyzer/rag/content_text.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace marketlens::analyzer::rag {

std::string Date(int64_t micros) {
  return absl::FormatTime("%B %-d, %Y", absl::FromUnixMicros(micros), absl::UTCTimeZone());
}

std::string FirstName(const std::string& name) {
  const std::string trimmed(absl::StripAsciiWhitespace(name));
  if (trimmed.empty()) return "there";
  return std::string(trimmed.substr(0, trimmed.find(' ')));
}

std::string Excerpt(absl::string_view text, size_t max) {
  text = absl::StripAsciiWhitespace(text);
  if (text.size() <= max) return std::string(text);
  size_t cut = text.rfind(' ', max);
  if (cut == absl::string_view::npos || cut < max / 2) cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(text.substr(0, cut), "...");
}

std::string SentenceAbout(absl::string_view text, const std::vector<std::string>& terms) {
  std::vector<absl::string_view> sentences =
      absl::StrSplit(text, absl::ByAnyChar(".!?\n"), absl::SkipWhitespace());
  for (const std::string& term : terms) {
    for (absl::string_view s : sentences) {
      if (!term.empty() && absl::StrContains(absl::AsciiStrToLower(s), absl::AsciiStrToLower(term))) {
        return Excerpt(absl::StripAsciiWhitespace(s), 140);
      }
    }
  }
  absl::string_view longest;
  for (absl::string_view s : sentences) {
    if (absl::StripAsciiWhitespace(s).size() > longest.size()) longest = absl::StripAsciiWhitespace(s);
  }
  return Excerpt(longest, 140);
}

std::string Plural(int64_t n, const std::string& one, const std::string& many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

std::string JoinAnd(const std::vector<std::string>& items) {
  if (items.empty()) return "";
  if (items.size() == 1) return items[0];
  return absl::StrCat(absl::StrJoin(items.begin(), items.end() - 1, ", "), " and ", items.back());
}

std::string Humanize(const std::string& aspect) {
  std::string out = aspect;
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

std::string ShortTitle(absl::string_view title) {
  size_t cut = title.size();
  for (absl::string_view sep : {",", " - ", " | ", " ("}) {
    const size_t at = title.find(sep);
    if (at != absl::string_view::npos && at > 0) cut = std::min(cut, at);
  }
  std::string out(absl::StripAsciiWhitespace(title.substr(0, cut)));
  if (out.size() > 60) out = Excerpt(out, 60);
  return out.empty() ? "product" : out;
}

}  // namespace marketlens::analyzer::rag
